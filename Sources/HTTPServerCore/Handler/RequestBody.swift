/// The request body, as the handler's `rfile`.
///
/// The connection receives the whole body before it calls the handler (up to
/// `ServerConfiguration.limits.maxBodySize`; beyond it the client gets 413), so reads never block:
/// `read()` returns what is left, and an empty array at the end, as Python's `rfile.read(n)` does
/// at end of stream. A handler that asked for the body as a stream (`wantsStreamingBody()`) gets
/// it through `onData` and `onEnd` instead; on a `ThreadingHTTPServer`, where that handler runs on
/// a worker thread, `read` and `readline` also read the stream, and block the worker until the
/// bytes have arrived (or the body has ended), as over Python's blocking socket.
///
/// A view of the connection's current request: it holds no bytes of its own.
public struct RequestBody {
    /// The handler, not the connection: a view kept past the connection's close (by a timer or a
    /// callback) then finds no connection, where a pointer to the connection would find freed memory.
    let handler: BaseHTTPRequestHandler

    init(handler: BaseHTTPRequestHandler) {
        self.handler = handler
    }

    var connection: HTTPConnection? { handler.connection }

    /// The streamed body of a handler on a worker (HTTPConnection+WorkerBody.swift).
    private var workerBody: WorkerBodyBuffer? { connection?.workerBody }

    private var exchange: Exchange? { connection?.currentExchange }

    /// Bytes not yet read.
    public var remaining: Int {
        if let workerBody { return workerBody.unreadCount }  // streamed: what has arrived
        guard let exchange else { return 0 }
        return exchange.body.count - exchange.bodyPosition
    }

    /// The body's length in bytes.
    /// (A body streamed to a worker: the bytes that have arrived so far.)
    public var count: Int { workerBody?.appendedCount ?? exchange?.body.count ?? 0 }

    /// Reads up to `count` bytes (all that is left when nil or negative). Python's `rfile.read(n)`.
    /// A body streamed to a handler on a worker: waits until `count` bytes have arrived, or the
    /// body has ended (then fewer; `isComplete` says whether it ended whole).
    public func read(_ count: Int? = nil) -> [UInt8] {
        if let workerBody, let connection {
            let limit = count.map { $0 < 0 ? Int.max : $0 } ?? Int.max
            return connection.workerReadsBody(workerBody, limit: limit, stopsAtNewline: false)
        }
        guard let exchange else { return [] }
        let left = exchange.body.count - exchange.bodyPosition
        let n = count.map { $0 < 0 ? left : Swift.min($0, left) } ?? left
        let start = exchange.bodyPosition
        exchange.bodyPosition += n
        return Array(exchange.body[start..<(start + n)])
    }

    /// Reads through the next LF (included), at most `limit` bytes. Python's `rfile.readline(limit)`.
    /// A body streamed to a handler on a worker: waits for the LF, the limit or the body's end.
    public func readline(_ limit: Int? = nil) -> [UInt8] {
        if let workerBody, let connection {
            let limit = limit.map { Swift.max(0, $0) } ?? Int.max
            return connection.workerReadsBody(workerBody, limit: limit, stopsAtNewline: true)
        }
        guard let exchange else { return [] }
        let start = exchange.bodyPosition
        var end = start
        let maxEnd = limit.map { Swift.min(exchange.body.count, start + Swift.max(0, $0)) } ?? exchange.body.count
        while end < maxEnd {
            end += 1
            if exchange.body[end - 1] == UInt8(ascii: "\n") { break }
        }
        exchange.bodyPosition = end
        return Array(exchange.body[start..<end])
    }

    /// The unread bytes, without copying them.
    /// (A body streamed to a worker: those that have arrived.)
    public func withUnreadBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let workerBody { return try workerBody.withUnreadBytes(body) }
        guard let exchange else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let position = exchange.bodyPosition
        return try exchange.body.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[position...])) }
    }

    /// The whole rest of the body as UTF-8 text (invalid sequences repaired), for convenience.
    public func readText() -> String {
        String(decoding: read(), as: UTF8.self)
    }

    // MARK: Streaming

    /// True when the body is handed over as it arrives (the handler's `wantsStreamingBody()`
    /// returned true) instead of being received whole before the handler runs.
    public var isStreaming: Bool {
        switch connection?.requestBody {
        case .streaming, .streamAbandoned, .streamEnded: return true
        case .buffered, .refused, nil: return false
        }
    }

    /// True once the whole streamed body has arrived (and `onEnd` was called with `true`).
    public var isComplete: Bool { connection?.requestBody == .streamEnded(complete: true) }

    /// The handler asked for no more body for now.
    public var isPaused: Bool {
        switch connection?.requestBody {
        case .streaming(.paused), .streamAbandoned(.paused): return true
        case .streaming(.flowing), .streamAbandoned(.flowing), .buffered, .streamEnded, .refused, nil: return false
        }
    }

    /// Streaming: called with each piece of the body as it arrives (bytes valid during the call).
    /// Pieces that arrive before a handler is set are kept and delivered when it is set. On a
    /// worker, what has arrived is delivered at once, on the worker; what arrives later, on the
    /// reactor once the worker has returned (after `deferResponse()`, as on an `HTTPServer`).
    public func onData(_ handler: @escaping (UnsafeRawBufferPointer) -> Void) {
        guard let exchange else { return }
        exchange.dataHandler = handler
        if let workerBody, let connection {
            let arrived = connection.workerTakesArrivedBody(workerBody)
            if !arrived.isEmpty { arrived.withUnsafeBytes { handler($0) } }
            return
        }
        if !exchange.body.isEmpty {
            let early = exchange.body
            exchange.body.removeAll(keepingCapacity: true)
            early.withUnsafeBytes { handler($0) }
        }
    }

    /// Streaming: called once when the body has ended — `true` when it arrived whole, `false`
    /// when the client went away or sent a malformed body first.
    /// On a worker, called at once when the body has ended and been read; otherwise on the reactor.
    public func onEnd(_ handler: @escaping (Bool) -> Void) {
        guard let exchange else { handler(false); return }
        if let workerBody, workerBody.unreadCount > 0 {
            exchange.endHandler = handler  // after the rest has gone to `onData`
        } else if let complete = connection?.requestBody?.reportedEnd {
            handler(complete)
        } else {
            exchange.endHandler = handler
        }
    }

    /// Streaming backpressure: no more `onData` calls (and no more reading from the client) until
    /// `resume()`.
    public func pause() {
        connection?.streamPaused()
    }

    /// Undoes `pause()`: `onData` calls and reading from the client start again.
    public func resume() {
        connection?.streamResumed()
    }
}
