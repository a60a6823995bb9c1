import Glibc

/// Beyond Python: a response that outlives `doXXX()`, and what such a handler needs to know of its
/// connection while it works.
extension BaseHTTPRequestHandler {
    /// Keeps the response open after `doXXX()` returns: the connection waits for `finishResponse()`
    /// before it reads the next request. For handlers that answer from work the reactor does later
    /// (a child process, a timer, a streamed upload).
    public func deferResponse() {
        connection?.responseDeferred()
    }

    /// Ends a response begun with `deferResponse()`.
    public func finishResponse() {
        connection?.deferredResponseFinished()
    }

    /// Calls `body` once if the client closes its side of the connection while this request's
    /// deferred response is still open. Python notices a client that left only when a write fails;
    /// a handler whose work is wasted once nobody waits for it (a CGI script that prints nothing
    /// for a minute) wants to know sooner. TCP cannot tell a client that half-closed and still
    /// reads from one that has gone: like nginx, take it as the client leaving. While watched, the
    /// connection keeps reading; if the client sends more (a pipelined request), reading pauses as
    /// usual and the watch ends without a call. A reset closes the connection: `finish()` is
    /// called then, as always. From a worker (`ThreadingHTTPServer`), the watch begins once
    /// `doXXX()` has returned after `deferResponse()`, and `body` runs on the connection's reactor.
    public func whenClientCloses(_ body: @escaping () -> Void) {
        connection?.watchClientClose(body)
    }

    /// Ends the connection at once, with whatever of the response is still queued dropped: for a
    /// response that can no longer be completed (a CGI script killed halfway). `finish()` follows.
    package func abortConnection() {
        closeConnection = true
        connection?.abortFromHandler()
    }

    /// Seconds since the epoch, from the server's clock (a test's manual clock under test).
    package func epochSeconds() -> Int64 {
        connection?.context.wallClock() ?? Int64(time(nil))
    }

    /// True while the client is still connected.
    public var isConnected: Bool {
        guard let connection else { return false }
        if let job = connection.workerJob { return !job.isConnectionClosed }
        return connection.state != .closed
    }
}
