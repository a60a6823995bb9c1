import HTTPServerReactor

/// The PROXY protocol (HAProxy's specification, versions 1 and 2), as a server accepts it: off
/// unless configured, and only from the networks of your own proxies.
///
/// A connection from a trusted network must open with a header; its source address becomes the
/// connection's `clientAddress`, the access log's address and CGI's `REMOTE_ADDR`. A missing,
/// malformed, oversized or truncated header (none complete within `headerTimeout`) closes the
/// connection with nothing served. A connection from any other network is served as usual: a
/// header it sends is read as a request, and fails as one (400).
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.proxyProtocol = ProxyProtocolConfiguration(trustedNetworks: [IPNetwork("10.0.0.0/8")!])
/// ```
public struct ProxyProtocolConfiguration: Sendable {
    /// Peers that must (and only they may) send a PROXY protocol header.
    public var trustedNetworks: [IPNetwork]
    /// Longest wait for a complete header, from the connection's accept.
    public var headerTimeout: Duration = .seconds(5)
    /// Longest version 2 header accepted, TLVs included.
    public var maxVersion2Length: Int = 4096

    /// Accepts headers from peers in `trustedNetworks`.
    public init(trustedNetworks: [IPNetwork]) {
        self.trustedNetworks = trustedNetworks
    }

    /// Whether `peer` must send a header.
    public func trusts(_ peer: SocketAddress?) -> Bool {
        guard let peer else { return false }
        return trustedNetworks.contains { $0.contains(peer) }
    }
}
