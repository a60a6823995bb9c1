import Glibc
import HTTPServerKit

extension HTTPServerCommand {
    /// The server's configuration from the production options (PROXY protocol, ...).
    func makeServerConfiguration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if !proxyProtocolNetworks.isEmpty {
            configuration.proxyProtocol = ProxyProtocolConfiguration(
                trustedNetworks: proxyProtocolNetworks.compactMap(IPNetwork.init))
        }
        configuration.accessLogFormat = AccessLogFormat(rawValue: accessLogFormat) ?? .python
        return configuration
    }

    /// Standard error, or the `--access-log` file opened for appending.
    func makeLogDestination() throws -> LogDestination {
        guard let accessLogPath else { return .standardError }
        let fd = open(accessLogPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CommandLineFailure("cannot open access log '\(accessLogPath)': \(String(cString: strerror(errno)))")
        }
        return .fileDescriptor(fd)
    }
}
