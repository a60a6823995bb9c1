import CHTTPServerOpenSSL
import Glibc
import HTTPServerReactor

/// The server side of TLS for the connections of one event loop: an OpenSSL `SSL_CTX` with the
/// certificate loaded, and the buffers that all its connections share (they run on one thread, one
/// at a time, so one plaintext buffer and one ciphertext buffer serve them all: an idle connection
/// holds none).
///
/// Not thread-safe: use it from its loop's thread only (one per `HTTPSServer`).
public final class TLSContext {
    let context: OpaquePointer
    /// ALPN protocols in wire format (length-prefixed), for the select callback.
    private let alpnWire: UnsafeMutableBufferPointer<UInt8>
    let configuration: TLSConfiguration
    /// Where timers come from (the loop, or a manual clock in tests).
    let scheduler: TimerScheduler
    /// Decrypted bytes handed to a connection's delegate; and plaintext gathered for one record.
    let plaintext: UnsafeMutableRawBufferPointer
    /// Ciphertext OpenSSL produced during one operation, before it goes to the socket.
    var ciphertext: UnsafeMutableRawPointer
    var ciphertextCapacity: Int
    var ciphertextCount = 0
    /// Told of each connection that fails before or during its handshake (the connection, a reason).
    public var onFailure: ((TLSTransport, String) -> Void)?
    /// The custom BIO method through which OpenSSL reads and writes (see `TLSTransport+BIO`).
    let bioMethod: OpaquePointer
    /// Why connections stay in user space, when kernel TLS is off or not offered; nil when they may
    /// switch (see `TLSTransport+KernelTLS`).
    public let kernelTLSFallback: KernelTLSFallback?
    /// Connections that went to kernel TLS, and the files they sent.
    public internal(set) var kernelTLSCounters = KernelTLSCounters()

    /// The largest TLS record's plaintext: one SSL_write at most this much.
    static let recordSize = 16_384

    /// Loads the certificate chain and key; throws with OpenSSL's reasons when they do not load or
    /// do not match.
    public convenience init(configuration: TLSConfiguration, scheduler: TimerScheduler) throws(TLSError) {
        try self.init(configuration: configuration, scheduler: scheduler,
                      kernelOffersTLS: configuration.kernelTLS && Self.kernelOffersTLS)
    }

    /// `kernelOffersTLS` stands for the kernel's answer (tests decide it).
    init(configuration: TLSConfiguration, scheduler: TimerScheduler, kernelOffersTLS: Bool) throws(TLSError) {
        kernelTLSFallback = configuration.kernelTLS ? (kernelOffersTLS ? nil : .kernelLacksTLS) : .disabled
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError(Self.errorQueue("SSL_CTX_new")) }
        self.context = context
        self.configuration = configuration
        self.scheduler = scheduler
        var wire: [UInt8] = []
        for name in configuration.alpnProtocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                SSL_CTX_free(context)
                throw TLSError("invalid ALPN protocol name '\(name)'")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        alpnWire = .allocate(capacity: max(1, wire.count))
        _ = alpnWire.initialize(from: wire)
        alpnCount = wire.count
        plaintext = .allocate(byteCount: Self.recordSize, alignment: 16)
        ciphertextCapacity = 4 * Self.recordSize
        ciphertext = .allocate(byteCount: ciphertextCapacity, alignment: 16)
        bioMethod = TLSTransport.makeBIOMethod()
        try configure()  // on failure deinit frees what was allocated
    }

    private let alpnCount: Int

    deinit {
        SSL_CTX_free(context)
        alpnWire.deallocate()
        plaintext.deallocate()
        ciphertext.deallocate()
        BIO_meth_free(bioMethod)
        alpnArgumentStorage?.deallocate()
    }

    private func configure() throws(TLSError) {
        SSL_CTX_set_options(context, chso_server_options())
        _ = chso_ctx_set_mode(context, chso_server_modes())
        guard chso_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw TLSError(Self.errorQueue("SSL_CTX_set_min_proto_version"))
        }
        guard SSL_CTX_set_cipher_list(context, configuration.tls12Ciphers) == 1 else {
            throw TLSError(Self.errorQueue("invalid TLS 1.2 cipher list"))
        }
        guard chso_ctx_set1_groups_list(context, configuration.groups) == 1 else {
            throw TLSError(Self.errorQueue("invalid key exchange groups"))
        }
        // Resumption by tickets (stateless), no session cache: nothing grows with past clients.
        _ = chso_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        try loadCertificate()
        if kernelTLSFallback == nil {
            // The TLS 1.3 application secret for kernel TLS. Only here: OpenSSL formats every
            // secret of every handshake as text for this callback.
            SSL_CTX_set_keylog_callback(context) { ssl, line in
                guard let ssl, let line, let bio = SSL_get_rbio(ssl), let data = BIO_get_data(bio) else { return }
                let transport = Unmanaged<TLSTransport>.fromOpaque(data).takeUnretainedValue()
                let bytes = UnsafeRawPointer(line).assumingMemoryBound(to: UInt8.self)
                transport.keyLogged(UnsafeBufferPointer(start: bytes, count: strlen(line)))
            }
        }
        if alpnCount > 0 {
            SSL_CTX_set_alpn_select_cb(context, { _, out, outLength, clientList, clientLength, argument in
                guard let argument, let out, let outLength, let clientList else { return SSL_TLSEXT_ERR_NOACK }
                let wire = argument.assumingMemoryBound(to: TLSContext.ALPNList.self).pointee
                var selected: UnsafeMutablePointer<UInt8>?
                let result = SSL_select_next_proto(&selected, outLength, wire.bytes, wire.count,
                                                   clientList, clientLength)
                guard result == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
                out.pointee = UnsafePointer(selected)
                return SSL_TLSEXT_ERR_OK
            }, alpnArgument)
        }
    }

    /// The ALPN list as the select callback reads it (a stable pointer, owned by the context).
    struct ALPNList {
        var bytes: UnsafePointer<UInt8>
        var count: UInt32
    }

    private lazy var alpnArgument: UnsafeMutableRawPointer = {
        let pointer = UnsafeMutablePointer<ALPNList>.allocate(capacity: 1)
        pointer.initialize(to: ALPNList(bytes: UnsafePointer(alpnWire.baseAddress!), count: UInt32(alpnCount)))
        alpnArgumentStorage = pointer
        return UnsafeMutableRawPointer(pointer)
    }()
    private var alpnArgumentStorage: UnsafeMutablePointer<ALPNList>?

    /// Python's `load_cert_chain(certfile, keyfile, password)`.
    private func loadCertificate() throws(TLSError) {
        let certificate = configuration.certificateChainFile
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw TLSError(Self.errorQueue("cannot load certificate chain '\(certificate)'"))
        }
        let keyFile = configuration.privateKeyFile ?? certificate
        // OpenSSL's default password callback reads the password from the user data.
        let password = configuration.password.map { strdup($0) } ?? nil
        defer {
            SSL_CTX_set_default_passwd_cb_userdata(context, nil)
            if let password {
                memset(password, 0, strlen(password))
                free(password)
            }
        }
        SSL_CTX_set_default_passwd_cb_userdata(context, password.map { UnsafeMutableRawPointer($0) })
        if password == nil {
            // No password: an encrypted key fails instead of prompting on the terminal.
            SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError(Self.errorQueue("cannot load private key '\(keyFile)'"))
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(Self.errorQueue("the private key does not match the certificate"))
        }
    }

    /// Room for `count` more bytes of ciphertext.
    func reserveCiphertext(_ count: Int) {
        let needed = ciphertextCount + count
        guard needed > ciphertextCapacity else { return }
        var capacity = ciphertextCapacity * 2
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        grown.copyMemory(from: ciphertext, byteCount: ciphertextCount)
        ciphertext.deallocate()
        ciphertext = grown
        ciphertextCapacity = capacity
    }

    /// `prefix: reason; reason` from OpenSSL's error queue, which it empties.
    static func errorQueue(_ prefix: String) -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? prefix : prefix + ": " + reasons.joined(separator: "; ")
    }

    /// Whether this kernel offers kernel TLS (`tls` in /proc/sys/net/ipv4/tcp_available_ulp).
    public static var kernelOffersTLS: Bool {
        let fd = open("/proc/sys/net/ipv4/tcp_available_ulp", O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return false }
        return String(decoding: buffer[..<count], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
            .contains("tls")
    }

    /// The OpenSSL version this process runs with, e.g. "OpenSSL 3.0.19 ...".
    public static var libraryVersion: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}
