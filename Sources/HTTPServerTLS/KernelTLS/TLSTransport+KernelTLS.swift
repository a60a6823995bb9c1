import CHTTPServerOpenSSL
import Glibc
import HTTPServerReactor

// Kernel TLS (Linux): where the kernel offers it and `TLSConfiguration.kernelTLS` is on, a
// connection over a socket hands its output to the kernel at its first write after the handshake.
// OpenSSL keeps reading (the receive side stays in user space); from then on plaintext goes to the
// socket with send/sendmsg and files with sendfile, and the kernel encrypts them.
//
// The switch needs the server's write key and IV and the sequence number of its next record. TLS
// 1.3: the key log callback gives SERVER_TRAFFIC_SECRET_0, and HKDF-Expand-Label gives the key and
// IV. TLS 1.2: the PRF over the master secret and the randoms gives the key block. The sequence
// number is the count of the records OpenSSL has written under those keys: every byte it writes
// passes through our BIO, where `TLSRecordCounter` reads the record headers.
//
// If anything is unclear (a cipher the kernel lacks, a partial record, OpenSSL writing outside a
// write after the handshake, a failed setsockopt) the connection stays in user space. If OpenSSL
// writes a record after the switch (its answer to a KeyUpdate that asks for one, or an alert), that
// record cannot follow the kernel's (it would be encrypted twice and out of sequence): the
// connection closes. close_notify is sent by us, as an alert record the kernel encrypts.
extension TLSTransport {
    /// Whether this connection's output is encrypted by the kernel, is waiting to be, or stays in
    /// user space (and why).
    public var kernelTLSStatus: KernelTLSStatus {
        switch kernelTLS {
        case .userSpace(let reason): .userSpace(reason)
        case .pending: .pending
        case .kernel: .kernel
        }
    }

    var isKernelTLS: Bool {
        if case .kernel = kernelTLS { return true }
        return false
    }

    /// A line from OpenSSL's key log callback (only set where kernel TLS may be used).
    func keyLogged(_ line: UnsafeBufferPointer<UInt8>) {
        guard case .pending(let candidate) = kernelTLS,
              let secret = KernelTLSKeys.serverApplicationSecret(inKeyLogLine: line) else { return }
        candidate.secretLogged(secret)
    }

    /// At a write after the handshake, with no ciphertext left pending: hands the output to the
    /// kernel, or settles on user space.
    func takeKernelTLS(_ candidate: KernelTLSCandidate) {
        defer { candidate.wipe() }
        guard let ssl, let socket = lower as? KernelTLSCapable else {
            fallBack(.notASocket)
            return
        }
        if SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE {
            fallBack(.keyUpdate)
            return
        }
        let suite = SSL_get_current_cipher(ssl).map { SSL_CIPHER_get_protocol_id($0) } ?? 0
        let decision = candidate.cryptoInfo(version: SSL_version(ssl), suite: suite) { Self.tls12Secrets(of: ssl) }
        switch decision {
        case .userSpace(let reason):
            fallBack(reason)
        case .kernel(var info):
            defer { info.wipe() }
            do throws(SystemError) {
                try socket.enableKernelTLS(info)
            } catch {
                fallBack(.setsockoptFailed(error.errno))
                return
            }
            kernelTLS = .kernel(isCloseNotifyOwed: false)
            context.kernelTLSCounters.connections += 1
        }
    }

    func fallBack(_ reason: KernelTLSFallback) {
        guard case .pending(let candidate) = kernelTLS else { return }
        candidate.wipe()
        kernelTLS = .userSpace(reason)
        context.kernelTLSCounters.fallbacks += 1
        if candidate.isOutputEndDeferred { lower.outputEndsStream() }
    }

    static func tls12Secrets(of ssl: OpaquePointer) -> KernelTLSCandidate.TLS12Secrets? {
        guard let session = SSL_get_session(ssl) else { return nil }
        var master = [UInt8](repeating: 0, count: 48)
        let count = SSL_SESSION_get_master_key(session, &master, master.count)
        guard count == 48 else { return nil }
        var client = [UInt8](repeating: 0, count: 32)
        var server = [UInt8](repeating: 0, count: 32)
        guard SSL_get_client_random(ssl, &client, 32) == 32, SSL_get_server_random(ssl, &server, 32) == 32 else {
            return nil
        }
        return KernelTLSCandidate.TLS12Secrets(masterSecret: master, clientRandom: client, serverRandom: server)
    }

    /// After a read. A KeyUpdate that asks for one (RFC 8446 §4.6.3) is answered by OpenSSL with
    /// its next write, which then changes its keys: under a pending switch, the switch is given up
    /// (user space answers it); under kernel TLS, where OpenSSL writes no more, the connection
    /// closes (the kernel would need the new keys, and our answer sent before them). Any other
    /// output OpenSSL wrote during a read also gives a pending switch up.
    func flushAfterRead() {
        switch kernelTLS {
        case .userSpace:
            break
        case .pending:
            if let ssl, SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE {
                fallBack(.keyUpdate)
            } else if context.ciphertextCount > 0 {
                fallBack(.outputAfterHandshake)
            }
        case .kernel:
            if let ssl, SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE, !isEndDelivered {
                let reason = "the client asked for a KeyUpdate, which kernel TLS cannot answer here: closing"
                context.onFailure?(self, reason)
                isEndDelivered = true
                strongDelegate?.transportFailed(SystemError(call: "SSL_read", errno: EPROTO, detail: reason))
                return
            }
        }
        flushAfterOperation()
    }

    /// RFC 8446 §6.1, RFC 5246 §7.2.1: close_notify is an alert record (content type 21), level
    /// warning (1), description close_notify (0); the kernel encrypts it. False while the socket
    /// cannot take it: when `waiting`, it is owed and sent once writable (otherwise, at a close,
    /// it is given up as in user space).
    func sendKernelCloseNotify(waiting: Bool = true) -> Bool {
        guard let socket = lower as? KernelTLSCapable else { return true }
        if let ssl { SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN) }
        let alert: (UInt8, UInt8) = (1, 0)
        let result = withUnsafeBytes(of: alert) { bytes -> IOResult? in
            try? socket.sendRecord(contentType: 21, bytes)
        }
        guard result == .wouldBlock, waiting else {
            kernelTLS = .kernel(isCloseNotifyOwed: false)
            return true
        }
        kernelTLS = .kernel(isCloseNotifyOwed: true)
        lower.awaitWritable()
        return false
    }
}
