import HTTPServerReactor

extension BaseHTTPRequestHandler {
    /// The event loop of this handler's connection: with `ServerConfiguration.reactors` > 1, the
    /// reactor that accepted it, which alone serves it (`server.loop` is reactor 0's). Work for the
    /// connection from another thread goes here (`connectionLoop?.execute { handler.finishResponse() }`), as
    /// do child processes and timers of its own. nil for a connection over an in-memory transport,
    /// or once the connection has gone.
    public var connectionLoop: EventLoop? {
        connection?.context.clock as? EventLoop
    }
}
