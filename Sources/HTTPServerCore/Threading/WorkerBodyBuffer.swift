/// A streamed request body on its way from the reactor to a handler on a worker thread
/// (`ThreadingHTTPServer`, a handler whose `wantsStreamingBody()` is true): the reactor parses
/// the body as it arrives and appends it here; the worker's `rfile.read` / `readline` take it,
/// and wait on the condition variable while it is empty.
///
/// Bounded: once `capacity` bytes wait here, `append` answers that it is full and the reactor
/// stops reading the socket (the machine's `streamPaused`). The worker, having taken enough that
/// at most half of `capacity` is left, says so once (`take` returns `resumesReactor`), and the
/// reactor reads again. So at most `capacity` plus one read's bytes are held.
///
/// Everything is under `lock`; the reactor and the worker share nothing else of the body.
final class WorkerBodyBuffer: @unchecked Sendable {
    /// How the body ended.
    enum End: Equatable {
        /// The parser passed its end: every byte of it has been appended.
        case complete
        /// It can no longer arrive whole: the client closed, reset or stopped sending (a timeout),
        /// the body was malformed, or the connection closed.
        case incomplete
    }

    let capacity: Int
    fileprivate let lock = ConditionLock()
    // Under `lock`:
    fileprivate var bytes: [UInt8] = []
    /// Where the unread bytes of `bytes` start.
    fileprivate var start = 0
    private var end: End?
    /// The reactor stopped reading because the buffer was full; cleared by the take that lets it
    /// go on.
    private var reactorPaused = false
    private var appended = 0
    /// Unread bytes the waiting worker needs before it is woken (0: it is not waiting).
    private var wanted = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    // MARK: The reactor

    /// Appends body bytes. Returns true when the buffer is full now: the reactor stops reading
    /// until a take says otherwise.
    func append(_ data: UnsafeRawBufferPointer) -> Bool {
        lock.withLock {
            if end != nil { return false }  // the worker gave up on it, or the connection closed
            if start > 0 && start >= bytes.count / 2 {
                bytes.removeSubrange(0..<start)
                start = 0
            }
            bytes.append(contentsOf: data)
            appended += data.count
            if bytes.count - start >= capacity { reactorPaused = true }
            // One wake-up per read the worker can use, not per read.
            if wanted > 0 && bytes.count - start >= wanted { lock.broadcast() }
            return reactorPaused
        }
    }

    /// The body ended (the first end counts): a waiting read returns what is left, then nothing.
    func finish(_ how: End) {
        lock.withLock {
            if end == nil { end = how }
            lock.broadcast()
        }
    }

    /// The worker has returned: what it left unread, which no one will wait for any more.
    func takeLeftover() -> [UInt8] {
        lock.withLock {
            if end == nil { end = .incomplete }
            defer { bytes = []; start = 0 }
            return Array(bytes[start...])
        }
    }

    // MARK: Both

    /// How the body ended, or nil while it is still arriving.
    var ending: End? { lock.withLock { end } }

    /// Body bytes appended so far.
    var appendedCount: Int { lock.withLock { appended } }

    /// Bytes appended and not yet taken.
    var unreadCount: Int { lock.withLock { bytes.count - start } }

    // MARK: The worker

    /// Takes up to `limit` bytes (through the first LF when `stopsAtNewline`), appends them to
    /// `result`. Waits until the body has ended or enough has arrived: a byte for a line, else the
    /// `limit` but at most half the buffer (so that the append that fills it, and pauses the
    /// reactor, wakes the worker). Returns whether the worker should wait for more to reach its
    /// count (false at the end of the body), and whether the reactor must be told to read again.
    func take(upTo limit: Int, stopsAtNewline: Bool, into result: inout [UInt8]) -> (more: Bool, resumesReactor: Bool) {
        let needed = stopsAtNewline ? 1 : max(1, min(limit, capacity / 2))
        return lock.withLock {
            if bytes.count - start < needed && end == nil {
                wanted = needed
                lock.wait { bytes.count - start >= needed || end != nil }
                wanted = 0
            }
            let available = bytes.count - start
            var count = min(limit, available)
            var foundNewline = false
            if stopsAtNewline, let index = bytes[start..<(start + count)].firstIndex(of: UInt8(ascii: "\n")) {
                count = index + 1 - start
                foundNewline = true
            }
            result.append(contentsOf: bytes[start..<(start + count)])
            start += count
            if start == bytes.count {
                bytes.removeAll(keepingCapacity: true)
                start = 0
            }
            var resumes = false
            if reactorPaused && bytes.count - start <= capacity / 2 {
                reactorPaused = false
                resumes = end == nil
            }
            let more = !foundNewline && count < limit && !(end != nil && start == bytes.count)
            return (more, resumes)
        }
    }
}

extension WorkerBodyBuffer {
    /// The bytes that have arrived and not been taken, without taking them (the lock held).
    func withUnreadBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try lock.withLock {
            try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        }
    }
}
