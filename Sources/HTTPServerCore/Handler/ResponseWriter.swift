import HTTPServerReactor

/// Where the handler writes its response, as the handler's `wfile`.
///
/// Writes are queued in order and drained by the reactor with backpressure; on the reactor nothing
/// blocks, and on a `ThreadingHTTPServer`'s worker `flush()` hands the queue to the reactor and a
/// write past the high-water mark waits until the client has taken more. Files
/// go out with `sendfile`. Equivalent to Python's `self.wfile`. A view of the connection: it holds
/// nothing of its own.
public struct ResponseWriter {
    /// The handler, not the connection: a view kept past the connection's close (by a timer or a
    /// callback) then finds no connection, where a pointer to the connection would find freed memory.
    let handler: BaseHTTPRequestHandler

    init(handler: BaseHTTPRequestHandler) {
        self.handler = handler
    }

    var connection: HTTPConnection? { handler.connection }

    /// Queues `bytes`. Arrays of 16 KiB or more are queued without copying.
    public func write(_ bytes: [UInt8]) {
        connection?.writeBody(bytes)
    }

    /// Queues a copy of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        connection?.writeBody(bytes)
    }

    /// Queues the UTF-8 bytes of `text`.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { connection?.writeBody(UnsafeRawBufferPointer($0)) }
    }

    /// Queues `range` of the open file `fd`, to be sent with `sendfile`. The writer owns the
    /// descriptor from now on and closes it when the region has been sent or the client has gone.
    public func sendFile(_ fd: consuming FileDescriptor, range: Range<Int>) {
        let region = FileRegion(fd: fd, range: range)
        connection?.writeBody(file: region)
    }

    /// Starts writing what is queued. Python's `wfile.flush()`; the connection also flushes by
    /// itself when the handler returns.
    public func flush() {
        connection?.flushFromHandler()
    }

    /// Calls `body` once everything queued so far has been written to the client (at once when
    /// nothing is queued): a handler that produces a large response piece by piece writes a piece,
    /// then waits for the drain before making the next, and so holds a bounded amount of memory.
    public func whenDrained(_ body: @escaping () -> Void) {
        connection?.whenDrained(body)
    }

    /// Bytes queued and not yet taken by the client: a handler that produces a large response
    /// piece by piece can watch this to keep its memory bounded.
    public var bufferedCount: Int {
        connection?.outputCount ?? 0
    }
}
