import HTTPServerReactor

extension HTTPServer {
    /// A server on a listening socket inherited from the parent process (socket activation: see
    /// `SocketActivation`), instead of one it binds: `descriptor` is taken over (closed by
    /// `serverClose()`), and accepting starts at once.
    public convenience init(listeningDescriptor descriptor: Int32, configuration: ServerConfiguration = ServerConfiguration(),
                            logDestination: LogDestination = .standardError,
                            handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        try self.init(("", 0), configuration: configuration, logDestination: logDestination, bindAndActivate: false,
                      handlerFactory: handlerFactory)
        do {
            adopt(try ListeningSocket(adopting: descriptor))
            try serverActivate()
        } catch {
            serverClose()
            throw error
        }
    }
}
