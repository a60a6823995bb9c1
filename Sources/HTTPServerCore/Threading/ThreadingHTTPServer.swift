import HTTPServerReactor

/// An `HTTPServer` that runs each request's handler on a worker thread. Equivalent to Python's
/// `http.server.ThreadingHTTPServer` (`socketserver.ThreadingMixIn` with `HTTPServer`).
///
/// ```swift
/// let server = try ThreadingHTTPServer(("127.0.0.1", 8000), handler: Slow.self)
/// try server.serveForever()
/// ```
///
/// The reactor still does all socket I/O and parsing; only `handleOneRequest()` (`doGET()`, …)
/// moves, per request, not per connection: an idle keep-alive connection holds no thread. A
/// handler may block (a database call, `usleep`), and the handler API behaves as over Python's
/// blocking socket: what it writes goes to the reactor in batches, at `wfile.flush()` /
/// `flushHeaders()` and when it returns; past `ServerConfiguration.outputHighWatermark` a write
/// waits until the client has taken more (or the connection has closed: the worker is never left
/// waiting on a dead connection). The body is received whole before the handler runs, as in
/// Python. Pipelined requests on one connection are handled one at a time and answered in order.
///
/// `ServerConfiguration.workerThreads` threads run handlers, and at most
/// `workerQueueLength` requests wait for a thread; past that, connections whose requests would
/// wait are not read until there is room (backpressure), so nothing queues without bound.
///
/// What stays on the reactor: `setup()`, `handle()`, `handleExpect100()`, `wantsStreamingBody()`
/// and `finish()`; and a handler that streams its body (`wantsStreamingBody()` true) runs there
/// too. A handler on a worker that calls `deferResponse()` must call `finishResponse()` from the
/// server's loop (`server.loop?.execute`); `whenClientCloses` is not called for it.
open class ThreadingHTTPServer: HTTPServer, @unchecked Sendable {
    /// Python's `daemon_threads`: true (as Python's `ThreadingHTTPServer`) means `serverClose()`
    /// does not wait for handlers still running; false, with `blockOnClose`, means it does.
    public var daemonThreads = true
    /// Python's `block_on_close`: `serverClose()` waits for running handlers, unless
    /// `daemonThreads`. (`shutdown()` lets running handlers finish either way, within the
    /// configuration's `shutdownGracePeriod`, and answers the requests already queued.)
    public var blockOnClose = true

    let workers: HandlerWorkers

    /// The designated initializer, as `HTTPServer`'s (its convenience initializers, such as
    /// `ThreadingHTTPServer(("127.0.0.1", 8000), handler: MyHandler.self)`, are inherited).
    /// The pool's threads start with the first request.
    public override init(address: (String, Int), configuration: ServerConfiguration, logDestination: LogDestination,
                         bindAndActivate: Bool, clock: TimerScheduler?, wallClock: @escaping () -> Int64,
                         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        let box = ExecutorBox()
        self.workers = HandlerWorkers(
            threadCount: configuration.workerThreads, queueLength: configuration.workerQueueLength,
            post: { work in box.executor?.execute(work) })
        try super.init(address: address, configuration: configuration, logDestination: logDestination,
                       bindAndActivate: bindAndActivate, clock: clock, wallClock: wallClock,
                       handlerFactory: handlerFactory)
        box.executor = context.executor
        context.workers = workers
    }

    deinit {
        workers.pool.stop(waitsForThreads: false)
    }

    /// Python's `server_close()`: closes the listening socket and every connection (a worker
    /// waiting to write is released), then, with `blockOnClose` and not `daemonThreads`, waits
    /// until every running handler has returned.
    open override func serverClose() {
        super.serverClose()
        workers.pool.stop(waitsForThreads: blockOnClose && !daemonThreads)
    }

    /// Requests whose handler runs or waits for a thread. Read it on the server's loop thread
    /// (`loop?.execute`), as the reactor counts them there.
    public var activeRequestCount: Int { workers.inFlight + workers.waitingCount }
}

/// The server's executor, known only after `super.init`; read by workers through `post` (set
/// before any request can reach a worker).
private final class ExecutorBox: @unchecked Sendable {
    var executor: (any ConnectionExecutor)?
}
