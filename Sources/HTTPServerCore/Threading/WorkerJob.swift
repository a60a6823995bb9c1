/// One request's handler, run on a worker thread of a `ThreadingHTTPServer`: everything the
/// reactor and the worker share about it, and the only things they share.
///
/// Ownership moves, it is never shared: from `HTTPConnection.dispatchToWorker` until the reactor
/// runs `workerFinished`, the worker owns the connection's handler and the request's `Exchange`
/// (its parsed head, body and output queue); the reactor touches only the connection's machine,
/// transport, timeouts and unparsed input. The one exception is the output queue during a
/// `flush()` (or a write past the high-water mark): the worker waits, and the reactor writes
/// from the queue until there is room, then hands it back. Each hand-over goes through `lock`
/// (or `EventLoop.execute`'s mutex), which orders everything written before it.
final class WorkerJob: WorkItem, @unchecked Sendable {
    /// Strong: the connection stays allocated until the reactor has heard that the worker is done,
    /// even if it closes meanwhile.
    let connection: HTTPConnection
    let handler: BaseHTTPRequestHandler
    /// Runs work on the connection's reactor thread.
    private let post: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// The server had decided, before the handler started, that the connection closes after this
    /// response (the response says `Connection: close`).
    let endsAfterCurrentRequest: Bool

    // The worker's, while it runs; the reactor's once `workerFinished` has begun.
    /// The worker thread's buffers, for the output the handler queues.
    var buffers: BufferPool?
    /// What `handleOneRequest()` threw.
    var error: (any Error)?
    /// The handler called `deferResponse()` (and not yet `finishResponse()`).
    var defersResponse = false
    /// The handler called `abortConnection()`.
    var aborts = false
    /// The handler made a `ResponseStream`: the reactor attaches it when the worker returns.
    var stream: ResponseStream?
    /// The handler's `whenClientCloses`: the reactor watches once the worker has returned.
    var clientCloseWatcher: (() -> Void)?
    /// Log lines the handler wrote, written by the reactor when it is done (a `LogSink` is the
    /// reactor's), in order.
    var logLines: [String] = []

    // The reactor's alone.
    /// The worker waits while the reactor writes the queued output.
    var reactorHoldsOutput = false

    private enum Phase {
        /// The worker writes into the output queue (or has not started).
        case handlerRuns
        /// The worker waits for the reactor to write until the queue is below the high-water mark.
        case awaitingRoom
    }
    private let lock = ConditionLock()
    // Under `lock`:
    private var phase = Phase.handlerRuns
    private var connectionClosed = false

    init(connection: HTTPConnection, handler: BaseHTTPRequestHandler, endsAfterCurrentRequest: Bool,
         post: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.connection = connection
        self.handler = handler
        self.endsAfterCurrentRequest = endsAfterCurrentRequest
        self.post = post
    }

    // MARK: The worker

    /// Runs the handler (unless the connection closed while the job was queued), then tells the
    /// reactor.
    override func run(buffers: BufferPool) {
        self.buffers = buffers
        if !isConnectionClosed {
            do {
                try handler.handleOneRequest()
            } catch {
                self.error = error
            }
        }
        self.buffers = nil
        post { [self] in connection.workerFinished(self) }
    }

    /// True once the connection has closed: what the handler writes goes nowhere.
    var isConnectionClosed: Bool { lock.withLock { connectionClosed } }

    /// `flush()`, or a write past the high-water mark: the reactor writes what is queued; the
    /// worker waits until the queue is below the high-water mark, or the connection has closed.
    /// Returns false when it has closed.
    @discardableResult
    func awaitRoom() -> Bool {
        let closed = lock.withLock { () -> Bool in
            if !connectionClosed { phase = .awaitingRoom }
            return connectionClosed
        }
        if closed { return false }
        post { [self] in connection.workerAwaitsRoom(self) }
        return lock.withLock {
            lock.wait { phase == .handlerRuns || connectionClosed }
            return !connectionClosed
        }
    }

    // MARK: The reactor

    /// The queue is below the high-water mark: the worker writes again.
    func roomMade() {
        reactorHoldsOutput = false
        lock.withLock {
            phase = .handlerRuns
            lock.broadcast()
        }
    }

    /// The connection closed: a waiting worker goes on (its writes go nowhere), a queued job does
    /// not run its handler.
    func connectionDidClose() {
        reactorHoldsOutput = false
        lock.withLock {
            connectionClosed = true
            lock.broadcast()
        }
    }
}
