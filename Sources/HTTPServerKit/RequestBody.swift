/// The request body, as the handler's `rfile`.
///
/// The connection receives the whole body before it calls the handler (up to
/// `ServerConfiguration.limits.maxBodySize`; beyond it the client gets 413), so reads never block:
/// `read()` returns what is left, and an empty array at the end, as Python's `rfile.read(n)` does
/// at end of stream.
public final class RequestBody {
    var storage: [UInt8] = []
    private var position = 0

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

    func reset(pool: BufferPool) {
        pool.give(&storage)
        position = 0
    }
}
