import HTTPServerReactor

extension HTTPServer {
    /// A stage that reads the PROXY protocol header of a connection from `peer`, or nil when the
    /// server does not accept the protocol from `peer` (the connection is served as it is).
    func proxyHeaderStage(over transport: Transport, peer: SocketAddress?, on reactor: ServerReactor) -> ProxyHeaderStage? {
        guard let proxyProtocol = configuration.proxyProtocol, proxyProtocol.trusts(peer) else { return nil }
        let stage = ProxyHeaderStage(
            transport: transport, peer: peer, configuration: proxyProtocol, clock: reactor.context.clock,
            onHeader: { [unowned self, unowned reactor] transport, address, leftover in
                if let stage = transport.delegate as? ProxyHeaderStage {
                    reactor.proxyHeaderStages[ObjectIdentifier(stage)] = nil
                }
                self.serveConnection(over: transport, peer: address, leftover: leftover, on: reactor)
            },
            onClose: { [unowned reactor] stage in
                reactor.proxyHeaderStages[ObjectIdentifier(stage)] = nil
                reactor.context.metrics?.connectionRefused("proxy_header")
            })
        reactor.proxyHeaderStages[ObjectIdentifier(stage)] = stage
        return stage
    }
}
