/// Whether a TLS connection's output is encrypted by the kernel (Linux kernel TLS) or in user space,
/// and why.
public enum KernelTLSStatus: Equatable, Sendable {
    /// Output is encrypted by OpenSSL in user space, for this reason.
    case userSpace(KernelTLSFallback)
    /// Kernel TLS may take over the output at the connection's first write after its handshake.
    case pending
    /// The kernel encrypts what is written; files leave with `sendfile`.
    case kernel
}

/// Why a connection's output stays in user space.
public enum KernelTLSFallback: Equatable, Sendable {
    /// `TLSConfiguration.kernelTLS` is off (the default).
    case disabled
    /// The kernel does not offer the `tls` upper-layer protocol (not in
    /// /proc/sys/net/ipv4/tcp_available_ulp).
    case kernelLacksTLS
    /// The transport under TLS is not a socket (e.g. in memory).
    case notASocket
    /// A protocol version other than TLS 1.2 or 1.3.
    case protocolVersion
    /// A cipher suite the kernel does not take.
    case cipher
    /// The keys could not be derived (no key log line, or OpenSSL failed).
    case keysUnavailable
    /// The records OpenSSL wrote could not be counted (a partial or malformed record).
    case recordStreamUnclear
    /// The client asked for a KeyUpdate before the first write; OpenSSL answers it with that write
    /// and changes its keys.
    case keyUpdate
    /// OpenSSL wrote a record outside a write after the handshake (e.g. answering a KeyUpdate):
    /// the keys or the count may have moved.
    case outputAfterHandshake
    /// `setsockopt` (TCP_ULP or TLS_TX) failed with this errno.
    case setsockoptFailed(Int32)
}
