import HTTPServerReactor

/// A handle to an open response that any thread or task can write to and finish: a message bus,
/// a timer service, or one producer broadcasting server-sent events to thousands of clients.
///
/// ```swift
/// final class Events: BaseHTTPRequestHandler {
///     override var protocolVersion: String { "HTTP/1.1" }
///     override func doGET() throws {
///         sendResponse(200)
///         sendHeader("Content-Type", "text/event-stream")
///         sendHeader("Connection", "close")   // the stream ends with the connection
///         endHeaders()
///         hub.add(responseStream())           // any thread may now write to it
///     }
/// }
/// // On the producer's thread:
/// for stream in hub.streams where stream.write("data: tick\n\n") == .full { stream.abort() }
/// ```
///
/// `BaseHTTPRequestHandler.responseStream(limit:)` defers the response (as `deferResponse()`) and
/// returns the handle. The bytes written go out in order after what the handler wrote itself,
/// through `wfile`'s framing (say `Content-Length`, or close the connection after the stream, or
/// write chunked framing yourself), and `finish()` ends the response as `finishResponse()` does.
///
/// Writes never block. Each stream has a bounded queue: `limit` bytes, counting what waits here
/// and what the connection has not yet written to the socket. A write that would pass it is
/// refused (`.full`) and nothing of it is queued, so a client that stops reading costs at most
/// `limit` bytes, and the producer decides: drop the message, or drop the client (`abort()`).
/// A write after the end answers `.closed`. The reactor is woken once per batch: the first write
/// after a delivery schedules one (`execute` on the reactor, whose eventfd is written once for
/// all the streams that became ready together); later writes before it runs only append.
///
/// `onClose` learns that the response has ended: finished, aborted, the client gone (a reset, a
/// failed write, the send timeout, or a half-close, taken as leaving as nginx does), or the
/// server closing.
public final class ResponseStream: @unchecked Sendable {
    /// What became of a write.
    public enum WriteResult: Sendable, Equatable {
        /// Queued: it goes out after what was queued before.
        case queued
        /// Refused, nothing queued: the stream's queue would pass `limit` (the client is slower
        /// than the producer).
        case full
        /// Refused: the response has ended (finished, aborted, or the client left).
        case closed
    }

    /// The most bytes queued for this client at once (here and in the connection, unsent).
    public let limit: Int

    private struct State {
        var buffer: [UInt8] = []
        /// Bytes handed to the connection and not yet written to the socket.
        var unsent = 0
        var isDeliveryScheduled = false
        var isFinishRequested = false
        var isAbortRequested = false
        var isEnded = false
        var closeHandlers: [@Sendable () -> Void] = []
    }
    private let state = Lock(State())
    private let executor: (any ConnectionExecutor)?

    // The reactor's alone.
    /// The connection the stream writes to, once it is attached (at once on the reactor; when its
    /// worker returns on a `ThreadingHTTPServer`). Strong until the response ends (`ended()`
    /// clears it): a weak reference would slow every retain of the connection (a side table).
    var connection: HTTPConnection?

    init(limit: Int, executor: (any ConnectionExecutor)?) {
        self.limit = max(1, limit)
        self.executor = executor
        if executor == nil { state.withLock { $0.isEnded = true } }
    }

    /// Queues `bytes`. Safe from any thread. A write larger than `limit` is accepted only when
    /// nothing else is queued.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> WriteResult {
        let (result, schedules) = state.withLock { state -> (WriteResult, Bool) in
            if state.isEnded || state.isFinishRequested || state.isAbortRequested { return (.closed, false) }
            let queued = state.buffer.count + state.unsent
            if queued > 0 && queued + bytes.count > limit { return (.full, false) }
            state.buffer.append(contentsOf: bytes)
            if state.isDeliveryScheduled { return (.queued, false) }
            state.isDeliveryScheduled = true
            return (.queued, true)
        }
        if schedules { scheduleDelivery() }
        return result
    }

    /// Queues the UTF-8 bytes of `text`.
    @discardableResult
    public func write(_ text: String) -> WriteResult {
        write(Array(text.utf8))
    }

    /// Ends the response once what is queued has been written (`finishResponse()`). Safe from any
    /// thread; later writes answer `.closed`.
    public func finish() {
        request { $0.isFinishRequested = true }
    }

    /// Closes the connection at once; what is queued is dropped. Safe from any thread. For a
    /// client that cannot keep up.
    public func abort() {
        request { $0.isAbortRequested = true }
    }

    /// True once the response has ended, or an end was asked for.
    public var isClosed: Bool {
        state.withLock { $0.isEnded || $0.isFinishRequested || $0.isAbortRequested }
    }

    /// Bytes queued for this client and not yet written to its socket.
    public var queuedCount: Int {
        state.withLock { $0.buffer.count + $0.unsent }
    }

    /// Calls `body` once when the response has ended (on the server's reactor thread), or at
    /// once, on the calling thread, if it already has.
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        let runsNow = state.withLock { state -> Bool in
            if state.isEnded { return true }
            state.closeHandlers.append(body)
            return false
        }
        if runsNow { body() }
    }

    private func request(_ change: (inout State) -> Void) {
        let schedules = state.withLock { state -> Bool in
            if state.isEnded { return false }
            change(&state)
            if state.isDeliveryScheduled { return false }
            state.isDeliveryScheduled = true
            return true
        }
        if schedules { scheduleDelivery() }
    }

    private func scheduleDelivery() {
        executor?.execute { [self] in deliver() }
    }

    // MARK: The reactor

    /// Hands what was written to the connection, with a finish or abort asked for.
    func deliver() {
        guard let connection else {
            // Not attached yet (its handler still runs on a worker): attaching delivers.
            state.withLock { $0.isDeliveryScheduled = false }
            return
        }
        let (bytes, finishes, aborts) = state.withLock { state -> ([UInt8], Bool, Bool) in
            state.isDeliveryScheduled = false
            var bytes: [UInt8] = []
            swap(&bytes, &state.buffer)
            state.unsent += bytes.count
            return (bytes, state.isFinishRequested, state.isAbortRequested)
        }
        connection.streamDelivered(self, bytes, finishes: finishes, aborts: aborts)
    }

    /// The connection has `unsent` bytes left to write.
    func connectionHolds(unsent: Int) {
        state.withLock { $0.unsent = unsent }
    }

    /// The response has ended: later writes are refused, and the close handlers run.
    func ended() {
        connection = nil
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            if state.isEnded { return [] }
            state.isEnded = true
            state.buffer = []
            state.unsent = 0
            let handlers = state.closeHandlers
            state.closeHandlers = []
            return handlers
        }
        for handler in handlers { handler() }
    }
}

extension BaseHTTPRequestHandler {
    /// Defers the response (as `deferResponse()`) and returns a handle that any thread or task
    /// can write it through and finish it (`ResponseStream`). `limit`: the most bytes queued for
    /// this client at once. A client that half-closes is taken as gone: the connection closes.
    public func responseStream(limit: Int = 256 * 1024) -> ResponseStream {
        let stream = ResponseStream(limit: limit, executor: connection?.context.executor)
        guard let connection else { return stream }
        deferResponse()
        connection.attachStream(stream)
        return stream
    }
}
