import HTTPServerKit

extension HTTPServerCommand {
    /// The server's configuration from the production options (PROXY protocol, ...).
    func makeServerConfiguration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if !proxyProtocolNetworks.isEmpty {
            configuration.proxyProtocol = ProxyProtocolConfiguration(
                trustedNetworks: proxyProtocolNetworks.compactMap(IPNetwork.init))
        }
        return configuration
    }
}
