import HTTPServerReactor

extension HTTPServer {
    /// A stage that reads the PROXY protocol header of a connection from `peer`, or nil when the
    /// server does not accept the protocol from `peer` (the connection is served as it is).
    func proxyHeaderStage(over transport: Transport, peer: SocketAddress?) -> ProxyHeaderStage? {
        guard let proxyProtocol = configuration.proxyProtocol, proxyProtocol.trusts(peer) else { return nil }
        let stage = ProxyHeaderStage(
            transport: transport, peer: peer, configuration: proxyProtocol, clock: connectionClock,
            onHeader: { [unowned self] transport, address, leftover in
                if let stage = transport.delegate as? ProxyHeaderStage {
                    self.proxyHeaderStages[ObjectIdentifier(stage)] = nil
                }
                self.serveConnection(over: transport, peer: address, leftover: leftover)
            },
            onClose: { [unowned self] stage in
                self.proxyHeaderStages[ObjectIdentifier(stage)] = nil
                self.metrics?.connectionRefused("proxy_header")
            })
        proxyHeaderStages[ObjectIdentifier(stage)] = stage
        return stage
    }
}
