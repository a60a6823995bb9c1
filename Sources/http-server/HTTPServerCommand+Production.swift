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
        configuration.reactors = Int(reactors) ?? 1
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

    /// The listening socket to serve instead of binding one: `--listen-fd`, or with
    /// `--socket-activation` the first socket systemd passed.
    func inheritedListeningDescriptor() throws -> Int32? {
        if let listenDescriptor { return listenDescriptor }
        guard socketActivation else { return nil }
        guard let first = SocketActivation.systemdDescriptors().first else {
            throw CommandLineFailure("--socket-activation: no socket passed (LISTEN_FDS/LISTEN_PID not set for this process)")
        }
        return first
    }
}
