/// The request body, as the handler's `rfile`.
///
/// The connection receives the whole body before it calls the handler (up to
/// `ServerConfiguration.limits.maxBodySize`; beyond it the client gets 413), so reads never block:
/// `read()` returns what is left, and an empty array at the end, as Python's `rfile.read(n)` does
/// at end of stream.
public final class RequestBody {
    @exclusivity(unchecked) var storage: [UInt8] = []
    @exclusivity(unchecked) private var position = 0

    init() {}

    /// Bytes not yet read.
    public var remaining: Int { storage.count - position }

    /// The body's length in bytes.
    public var count: Int { storage.count }

    /// Reads up to `count` bytes (all that is left when nil or negative). Python's `rfile.read(n)`.
    public func read(_ count: Int? = nil) -> [UInt8] {
        let n = count.map { $0 < 0 ? remaining : Swift.min($0, remaining) } ?? remaining
        defer { position += n }
        return Array(storage[position..<(position + n)])
    }

    /// Reads through the next LF (included), at most `limit` bytes. Python's `rfile.readline(limit)`.
    public func readline(_ limit: Int? = nil) -> [UInt8] {
        var end = position
        let maxEnd = limit.map { Swift.min(storage.count, position + Swift.max(0, $0)) } ?? storage.count
        while end < maxEnd {
            end += 1
            if storage[end - 1] == UInt8(ascii: "\n") { break }
        }
        defer { position = end }
        return Array(storage[position..<end])
    }

    /// The unread bytes, without copying them.
    public func withUnreadBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[position...])) }
    }

    /// The whole body as UTF-8 text (invalid sequences repaired), for convenience.
    public func readText() -> String {
        String(decoding: read(), as: UTF8.self)
    }

    // MARK: Streaming

    /// True when the body is handed over as it arrives (the handler's `wantsStreamingBody()`
    /// returned true) instead of being received whole before the handler runs.
    @exclusivity(unchecked) public private(set) var isStreaming = false
    /// True once the whole streamed body has arrived (and `onEnd` was called with `true`).
    @exclusivity(unchecked) public private(set) var isComplete = false
    /// The handler asked for no more body for now.
    @exclusivity(unchecked) public private(set) var isPaused = false
    @exclusivity(unchecked) private var dataHandler: ((UnsafeRawBufferPointer) -> Void)?
    @exclusivity(unchecked) private var endHandler: ((Bool) -> Void)?
    unowned(unsafe) var connection: HTTPConnection?

    /// Streaming: called with each piece of the body as it arrives (bytes valid during the call).
    /// Pieces that arrive before a handler is set are kept and delivered when it is set.
    public func onData(_ handler: @escaping (UnsafeRawBufferPointer) -> Void) {
        dataHandler = handler
        if !storage.isEmpty {
            let early = storage
            storage.removeAll(keepingCapacity: true)
            early.withUnsafeBytes { handler($0) }
        }
    }

    /// Streaming: called once when the body has ended — `true` when it arrived whole, `false`
    /// when the client went away or sent a malformed body first.
    public func onEnd(_ handler: @escaping (Bool) -> Void) {
        if isStreaming && (isComplete || endReported) {
            handler(isComplete)
        } else {
            endHandler = handler
        }
    }

    /// Streaming backpressure: no more `onData` calls (and no more reading from the client) until
    /// `resume()`.
    public func pause() {
        isPaused = true
    }

    public func resume() {
        guard isPaused else { return }
        isPaused = false
        connection?.streamResumed()
    }

    @exclusivity(unchecked) private var endReported = false

    func beginStream() {
        isStreaming = true
        isComplete = false
        isPaused = false
        endReported = false
    }

    func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let dataHandler {
            dataHandler(bytes)
        } else {
            storage.append(contentsOf: bytes)
        }
    }

    func streamEnded(complete: Bool) {
        guard isStreaming, !endReported else { return }
        endReported = true
        isComplete = complete
        let handler = endHandler
        endHandler = nil
        handler?(complete)
    }

    func reset(pool: BufferPool) {
        if storage.capacity == 0 && position == 0 && !isStreaming && dataHandler == nil && endHandler == nil {
            return  // nothing was received: the common case of a request without a body
        }
        pool.give(&storage)
        position = 0
        isStreaming = false
        isComplete = false
        isPaused = false
        endReported = false
        dataHandler = nil
        endHandler = nil
    }
}
