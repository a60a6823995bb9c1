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
/// Python; a handler that streams it (`wantsStreamingBody()` true) runs as soon as the head has
/// arrived, and its `rfile.read` / `readline` wait until the reactor has the bytes (at most
/// `workerBodyBufferSize` of them wait for it; then the connection stops reading). Pipelined
/// requests on one connection are handled one at a time and answered in order.
///
/// `ServerConfiguration.workerThreads` threads run handlers, and at most
/// `workerQueueLength` requests wait for a thread; past that, connections whose requests would
/// wait are not read until there is room (backpressure), so nothing queues without bound. With
/// `reactors` > 1, the reactors share the one pool; each may hand it up to `workerThreads` jobs
/// plus its share of `workerQueueLength`, and each job's results go back to the loop of its own
/// connection.
///
/// What stays on the reactor: `setup()`, `handle()`, `handleExpect100()`, `wantsStreamingBody()`
/// and `finish()`, and, for a handler that returned after `deferResponse()`, its `rfile.onData` /
/// `onEnd` and `whenClientCloses` callbacks. A handler on a worker that calls `deferResponse()`
/// must call `finishResponse()` from the connection's loop (`connectionLoop?.execute`) or from
/// one of those callbacks.
open class ThreadingHTTPServer: HTTPServer, @unchecked Sendable {
    /// Python's `daemon_threads`: true (as Python's `ThreadingHTTPServer`) means `serverClose()`
    /// does not wait for handlers still running; false, with `blockOnClose`, means it does.
    public var daemonThreads = true
    /// Python's `block_on_close`: `serverClose()` waits for running handlers, unless
    /// `daemonThreads`. (`shutdown()` lets running handlers finish either way, within the
    /// configuration's `shutdownGracePeriod`, and answers the requests already queued.)
    public var blockOnClose = true

    /// The worker threads, shared by the reactors.
    let pool: WorkerPool
    /// Each reactor's side of the pool, in the order of the reactors.
    private(set) var reactorWorkers: [HandlerWorkers] = []
    /// Reactor 0's side of the pool (the only one of a server of in-memory transports).
    var workers: HandlerWorkers { reactorWorkers[0] }

    /// The designated initializer, as `HTTPServer`'s (its convenience initializers, such as
    /// `ThreadingHTTPServer(("127.0.0.1", 8000), handler: MyHandler.self)`, are inherited).
    /// The pool's threads start with the first request.
    public override init(address: (String, Int), configuration: ServerConfiguration, logDestination: LogDestination,
                         bindAndActivate: Bool, clock: TimerScheduler?, wallClock: @escaping () -> Int64,
                         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        self.pool = WorkerPool(threadCount: configuration.workerThreads)
        try super.init(address: address, configuration: configuration, logDestination: logDestination,
                       bindAndActivate: bindAndActivate, clock: clock, wallClock: wallClock,
                       handlerFactory: handlerFactory)
        // No loop runs before `serveForever()`, so no request reaches a worker before this.
        let share = (max(0, configuration.workerQueueLength) + reactors.count - 1) / reactors.count
        for reactor in reactors {
            // The reactor's loop, or (in-memory transports) the test's `PostedWork`.
            let executor = reactor.context.executor
            let workers = HandlerWorkers(pool: pool, queueLength: share, executor: executor)
            reactor.context.workers = workers
            reactorWorkers.append(workers)
        }
    }

    deinit {
        pool.stop(waitsForThreads: false)
    }

    /// Python's `server_close()`: closes the listening socket and every connection (a worker
    /// waiting to write is released), then, with `blockOnClose` and not `daemonThreads`, waits
    /// until every running handler has returned.
    open override func serverClose() {
        super.serverClose()
        pool.stop(waitsForThreads: blockOnClose && !daemonThreads)
    }

    /// Requests whose handler runs or waits for a thread, of the reactor whose thread reads it
    /// (reactor 0 from any other). Read it on a loop thread (`loop?.execute`), as each reactor
    /// counts its own there.
    public var activeRequestCount: Int {
        let workers = currentReactor.context.workers ?? self.workers
        return workers.inFlight + workers.waitingCount
    }

}
