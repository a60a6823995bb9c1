import HTTPServerReactor

/// A request handler written with Swift concurrency: its `doXXX()` methods are `async`.
///
/// ```swift
/// final class Quote: AsyncHTTPRequestHandler {
///     override func doGET() async throws {
///         let quote = try await quotes.next()            // an async client: the reactor goes on meanwhile
///         let report = try await blocking { render(quote) }  // blocking work on the worker pool
///         sendResponse(200)
///         sendHeader("Content-Length", String(report.utf8.count))
///         endHeaders()
///         wfile.write(report)
///     }
/// }
/// let server = try HTTPServer(("127.0.0.1", 8000), handler: Quote.self)
/// ```
///
/// Each request runs as a task whose executor is the connection's reactor: the handler starts on
/// the reactor thread at once (no thread hop; the task costs five allocations and about 6,000
/// instructions a request, docs/concurrency.md), and after every `await` it resumes there, so it
/// uses `sendResponse`, `wfile`, `rfile` and the handler's attributes exactly as a synchronous
/// handler does, and never races the reactor. A handler that
/// returns without suspending is answered as a synchronous one; one that suspends holds its
/// connection's response open (reading pauses, pipelined requests wait) until it returns. What
/// it throws is answered as a synchronous handler's throw: a 500 if nothing was sent, else the
/// connection closes.
///
/// Cancellation: when the client leaves (a reset, a close, or a half-close while the response is
/// open) or the server closes the connection, the task is cancelled: `Task.isCancelled` turns
/// true, `Task.sleep` and other cancellable waits throw `CancellationError`, and whatever it
/// writes afterwards goes nowhere.
///
/// Isolation: the handler is not `Sendable` and never leaves the reactor; it holds no actor.
/// Code it awaits runs where its own isolation says (an actor's methods on the actor, nonisolated
/// async functions on the reactor, the task's executor). Pass only `Sendable` values to other
/// isolation domains: `blocking { }` takes a `@Sendable` closure and returns a `Sendable` result.
/// On a `ThreadingHTTPServer`, async handlers run on the reactor too (they do not block a worker
/// while they await) and `blocking { }` uses the server's worker pool; on an `HTTPServer` it uses
/// a pool of `ServerConfiguration.workerThreads` threads, started at the first call.
open class AsyncHTTPRequestHandler: BaseHTTPRequestHandler {
    public required init() {}

    override var isAsync: Bool { true }

    /// Runs `body` on a worker thread and returns its result, resuming on the reactor. For work
    /// that blocks (a synchronous database driver, a large file read, a computation): the
    /// reactor serves other connections meanwhile. Cancellation does not interrupt `body`.
    public func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        guard let pool = connection?.context.blockingPool else { throw CancellationError() }
        return try await withCheckedThrowingContinuation { continuation in
            pool.submit(BlockingWork(body, continuation: continuation))
        }
    }

    /// Suspends for `duration` on the reactor's own timer heap, and resumes on the reactor with
    /// no thread hop: `Task.sleep` works too, but on Linux its timers are the global executor's
    /// (Dispatch), so each sleep costs a wake-up of a Dispatch thread and a hop back (measured in
    /// docs/concurrency.md). Throws `CancellationError` if the task is cancelled (the client left).
    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard let context = connection?.context else { throw CancellationError() }
        let sleeper = ReactorSleeper(clock: context.clock, executor: context.executor)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                sleeper.start(continuation, after: duration)
            }
        } onCancel: {
            sleeper.cancel()
        }
    }

    /// The async counterpart of `handleOneRequest()`: calls the `doXXX()` method for the
    /// request's command. The request has been read and parsed, body included.
    open func handleOneRequest() async throws {
        switch requestMethod {
        case .get: try await doGET()
        case .head: try await doHEAD()
        case .post: try await doPOST()
        case .put: try await doPUT()
        case .delete: try await doDELETE()
        case .options: try await doOPTIONS()
        case .patch: try await doPATCH()
        case .trace: try await doTRACE()
        case .connect: try await doCONNECT()
        case .other: try await doMethod(command)
        }
    }

    /// Serves a GET request. The default calls `doMethod("GET")`.
    open func doGET() async throws { try await doMethod("GET") }
    /// Serves a HEAD request. The default calls `doMethod("HEAD")`.
    open func doHEAD() async throws { try await doMethod("HEAD") }
    /// Serves a POST request. The default calls `doMethod("POST")`.
    open func doPOST() async throws { try await doMethod("POST") }
    /// Serves a PUT request. The default calls `doMethod("PUT")`.
    open func doPUT() async throws { try await doMethod("PUT") }
    /// Serves a DELETE request. The default calls `doMethod("DELETE")`.
    open func doDELETE() async throws { try await doMethod("DELETE") }
    /// Serves an OPTIONS request. The default calls `doMethod("OPTIONS")`.
    open func doOPTIONS() async throws { try await doMethod("OPTIONS") }
    /// Serves a PATCH request. The default calls `doMethod("PATCH")`.
    open func doPATCH() async throws { try await doMethod("PATCH") }
    /// Serves a TRACE request. The default calls `doMethod("TRACE")`.
    open func doTRACE() async throws { try await doMethod("TRACE") }
    /// Serves a CONNECT request. The default calls `doMethod("CONNECT")`.
    open func doCONNECT() async throws { try await doMethod("CONNECT") }

    /// Serves any method without a `doXXX()` of its own. The default answers 501, as the
    /// synchronous handler's does.
    open func doMethod(_ command: String) async throws {
        try (self as BaseHTTPRequestHandler).doMethod(command)
    }
}

/// One `sleep(for:)`: a timer on the reactor that resumes the task inline when it fires. Used on
/// the reactor only, except `cancel()`, which may come from any thread and posts to the reactor.
private final class ReactorSleeper: @unchecked Sendable {
    private let clock: TimerScheduler
    private let executor: any ConnectionExecutor
    private var continuation: CheckedContinuation<Void, any Error>?
    private var timer: Timer?
    private var isCancelled = false

    init(clock: TimerScheduler, executor: any ConnectionExecutor) {
        self.clock = clock
        self.executor = executor
    }

    func start(_ continuation: CheckedContinuation<Void, any Error>, after duration: Duration) {
        if isCancelled {
            continuation.resume(throwing: CancellationError())
            return
        }
        self.continuation = continuation
        let timer = Timer { [self] in wake(nil) }
        self.timer = timer
        clock.arm(timer, at: clock.now.advanced(by: duration))
    }

    func cancel() {
        executor.execute { [self] in
            isCancelled = true
            if let timer { clock.disarm(timer) }
            wake(CancellationError())
        }
    }

    /// On the reactor: resumes the task there and then, up to its next suspension.
    private func wake(_ error: (any Error)?) {
        guard let continuation else { return }
        self.continuation = nil
        timer = nil
        executor.runningJobsInline {
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }
}
