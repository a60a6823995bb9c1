/// What a TLS server presents and accepts: its certificate and key, ALPN, and the handshake's limits.
///
/// The protocol choices are fixed, not options: TLS 1.2 and 1.3 only, ECDHE key exchange (forward
/// secrecy) with AES-GCM or ChaCha20-Poly1305, no renegotiation, no compression, session
/// resumption by tickets only (no server-side cache, as nginx's default).
public struct TLSConfiguration: Sendable {
    /// PEM file with the certificate, then any intermediates (Python's `certfile`). When
    /// `privateKeyFile` is nil the private key is read from this file too.
    public var certificateChainFile: String
    /// PEM file with the private key (Python's `keyfile`).
    public var privateKeyFile: String?
    /// Password that decrypts the private key (Python's `password`).
    public var password: String?
    /// ALPN protocols, in order of preference (Python's `alpn_protocols`). A client that offers none
    /// of them is served without ALPN, as Python's `ssl` does.
    public var alpnProtocols: [String]
    /// Longest time from accepting a connection to the end of its handshake; then it is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Bytes answered in clear to a client whose first bytes are not a TLS handshake record but
    /// start like a plaintext request (an uppercase letter); nil closes such a connection silently.
    public var plaintextResponse: [UInt8]?
    /// TLS 1.2 cipher suites (OpenSSL names); TLS 1.3 uses OpenSSL's default suites, all AEAD.
    public var tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// Key exchange groups.
    public var groups = "X25519:P-256:P-384"
    /// Linux kernel TLS for output where the kernel offers it (`tls` in
    /// /proc/sys/net/ipv4/tcp_available_ulp): after the handshake the kernel encrypts what is
    /// written, and files leave with `sendfile`; reading stays in OpenSSL. Suites with AES-GCM or
    /// ChaCha20-Poly1305, TLS 1.2 and 1.3; any other connection stays in user space. Off by
    /// default: see docs/tls.md for where it has been exercised.
    public var kernelTLS = false
    /// Python's `load_cert_chain(certfile, keyfile, password)` arguments, with ALPN offering
    /// `http/1.1`; the other options take the defaults above.
    public init(certificateChainFile: String, privateKeyFile: String? = nil, password: String? = nil,
                alpnProtocols: [String] = ["http/1.1"]) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.password = password
        self.alpnProtocols = alpnProtocols
    }
}

/// A TLS setup failure (a certificate or key that cannot be loaded, an invalid option), with
/// OpenSSL's reasons. Failures of one connection are reported as `SystemError`s with `detail`.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// OpenSSL's reasons for the failure, as one line of text.
    public var description: String
    /// An error with this text.
    public init(_ description: String) { self.description = description }
}
