import Glibc
import HTTPServerReactor

// The rest of Python's `socketserver.BaseServer` interface, in reactor form
// (docs/python-mapping.md, *socketserver on a reactor*).
//
// Python serves a connection from start to end inside `process_request`; here connections are
// served side by side by the reactor, so the hooks mark the points of a connection's life the
// reactor has: accepted and checked (`verifyRequest`), handed to its connection
// (`processRequest` → `finishRequest`), refused (`shutdownRequest` → `closeRequest`), ended
// (`closeRequest`).

extension HTTPServer {
    /// Python's `fileno()`: the listening socket's descriptor (for a selector of one's own), or -1
    /// when the server has none (in-memory transports, or after `serverClose()`).
    public func fileno() -> Int32 {
        listener?.fd ?? -1
    }

    /// Python's `serve_forever(poll_interval)`: serves on the calling thread until `shutdown()`,
    /// calling `serviceActions()` at least every `pollInterval`.
    ///
    /// Python polls for `shutdown()` every `poll_interval`; the reactor hears `shutdown()` at once
    /// (an eventfd wake-up), so here the interval only paces `serviceActions()`, which runs on the
    /// calling thread (reactor 0) only. With `reactors` > 1, the other reactors serve on threads
    /// started here, and it returns once every one of them has stopped.
    public func serveForever(pollInterval: Duration) throws {
        guard let loop, state.begin() else { return }
        defer {
            context.log.flush()
            state.end()
        }
        let service = ServiceTimer(server: self, interval: pollInterval)
        loop.arm(service.timer, after: pollInterval)
        defer { loop.disarm(service.timer) }
        try runReactors()
    }

    /// Python's `handle_request()`: serves until one request has been answered, or until `timeout`
    /// passes with none answered, in which case it calls `handleTimeout()`. Returns then; call it
    /// again (or `serveForever()`) to go on serving.
    ///
    /// Unlike Python's, it does not serve one connection alone to its end: every connection the
    /// reactor holds is served meanwhile, and a keep-alive connection stays open for the next call.
    /// A response larger than the socket takes at once is finished by the next call. It runs
    /// reactor 0 alone (with `reactors` > 1, the others do not run: reactor 0 accepts every
    /// connection meanwhile, and those the others hold wait for `serveForever()`).
    public func handleRequest() throws {
        guard let loop, state.begin() else { return }
        defer {
            context.log.flush()
            state.end()
        }
        var isTimedOut = false
        let deadline = timeout.map { _ in Timer { isTimedOut = true; loop.stop() } }
        if let deadline, let timeout { loop.arm(deadline, after: timeout) }
        context.onRequestFinished = { loop.stop() }
        defer {
            context.onRequestFinished = nil
            if let deadline { loop.disarm(deadline) }
        }
        try loop.run()
        if isTimedOut { handleTimeout() }
    }

    /// Starts serving an accepted connection: asks `verifyRequest`, then `processRequest`, or
    /// `shutdownRequest` for a refused one. Nothing has been read from it yet.
    func serveAccepted(_ transport: Transport, peer: SocketAddress?) {
        guard verifyRequest(transport, clientAddress: peer) else {
            shutdownRequest(transport)
            return
        }
        processRequest(transport, clientAddress: peer)
    }
}

/// Calls `serviceActions()` every poll interval while `serveForever(pollInterval:)` runs.
private final class ServiceTimer {
    let timer: Timer
    init(server: HTTPServer, interval: Duration) {
        var rearm: () -> Void = {}
        timer = Timer { rearm() }
        rearm = { [unowned server, unowned timer] in
            server.serviceActions()
            server.loop?.arm(timer, after: interval)
        }
    }
}
