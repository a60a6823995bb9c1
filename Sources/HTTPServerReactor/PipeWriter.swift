import CHTTPServerReactor

/// The write end of a pipe on the loop: a child process's standard input.
///
/// Writes are eager; what the pipe does not take at once is queued and written when epoll says the
/// pipe is writable again (EPOLLOUT is armed only then). The queue is the caller's to bound: it
/// watches `bufferedCount` and waits with `whenDrained` before writing more, as a handler does with
/// `wfile`. When the reader goes away (EPIPE: the child closed its input or exited), the queue is
/// dropped, the descriptor closed, and `onFailure` called; writes after that are ignored.
public final class PipeWriter: EventHandler {
    private let loopLink: EventLoop.Link
    private var loop: EventLoop? { loopLink.loop }
    private var rawFD: Int32
    private var registration: Registration?
    private var queue: [UInt8] = []
    private var queueStart = 0
    private var drainWaiters: [() -> Void] = []
    private var closesWhenDrained = false

    /// Called once if a write fails (EPIPE when the reader has gone); the writer is closed by then.
    public var onFailure: ((SystemError) -> Void)?
    /// True once closed (by `close()`, after `finish()` has drained, or after a failure).
    public private(set) var isClosed = false
    /// Bytes written to the pipe so far.
    public private(set) var bytesWritten = 0

    /// The descriptor; -1 once closed.
    public var fd: Int32 { rawFD }

    /// Takes ownership of `fd` (made nonblocking here) and registers it. On failure it is closed.
    init(loop: EventLoop, fd: Int32) throws(SystemError) {
        self.loopLink = loop.link
        self.rawFD = fd
        do {
            registration = try loop.adoptPipe(fd, handler: self)
        } catch {
            rawFD = -1
            isClosed = true
            throw error
        }
    }

    deinit {
        if rawFD >= 0 { _ = CHTTPServerReactor.close(rawFD) }
    }

    /// Bytes queued and not yet taken by the pipe.
    public var bufferedCount: Int { queue.count - queueStart }

    /// Writes `bytes` now as far as the pipe takes them, and queues the rest.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closesWhenDrained, !bytes.isEmpty else { return }
        var rest = bytes
        if bufferedCount == 0 {
            switch writeNow(bytes) {
            case .failed: return
            case .wrote(let count): rest = UnsafeRawBufferPointer(rebasing: bytes[count...])
            }
        }
        guard !rest.isEmpty else { return }
        queue.append(contentsOf: rest)
        setWriteInterest(true)
    }

    /// Calls `body` once everything queued has been written (at once when nothing is). Not called
    /// if the writer fails or is closed first.
    public func whenDrained(_ body: @escaping () -> Void) {
        guard !isClosed else { return }
        if bufferedCount == 0 { body() } else { drainWaiters.append(body) }
    }

    /// Closes once the queue is written: the reader then sees end of file.
    public func finish() {
        guard !isClosed else { return }
        closesWhenDrained = true
        if bufferedCount == 0 { close() }
    }

    /// Closes now; queued bytes are dropped. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        queue = []
        queueStart = 0
        drainWaiters = []
        onFailure = nil
        let fd = rawFD
        rawFD = -1
        if let registration {
            self.registration = nil
            loop?.deregister(registration)
        }
        if fd >= 0 { _ = CHTTPServerReactor.close(fd) }
    }

    // MARK: EventHandler

    public func readable() {}

    public func writable() {
        guard !isClosed else { return }
        while bufferedCount > 0 {
            let start = queueStart
            let result = queue.withUnsafeBytes { all in
                Result { () throws(SystemError) -> IOResult in
                    let pending = UnsafeRawBufferPointer(rebasing: all[start...])
                    return try ioCall("write") { CHTTPServerReactor.write(rawFD, pending.baseAddress, pending.count) }
                }
            }
            switch result {
            case .failure(let error):
                fail(error)
                return
            case .success(.wouldBlock):
                return   // EPOLLOUT stays armed
            case .success(.processed(let count)):
                bytesWritten += count
                queueStart += count
            }
        }
        queue.removeAll(keepingCapacity: queue.capacity <= 64 * 1024)
        queueStart = 0
        setWriteInterest(false)
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter() }
        if closesWhenDrained && bufferedCount == 0 { close() }
    }

    private enum Outcome { case wrote(Int), failed }

    private func writeNow(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        do {
            switch try ioCall("write", { CHTTPServerReactor.write(rawFD, bytes.baseAddress, bytes.count) }) {
            case .wouldBlock: return .wrote(0)
            case .processed(let count):
                bytesWritten += count
                return .wrote(count)
            }
        } catch {
            fail(error)
            return .failed
        }
    }

    private func fail(_ error: SystemError) {
        let handler = onFailure
        close()
        handler?(error)
    }

    private func setWriteInterest(_ wanted: Bool) {
        guard let registration, let loop, !isClosed else { return }
        do {
            try loop.modify(registration, interest: wanted ? .write : [])
        } catch {
            fail(error)
        }
    }
}

extension EventLoop {
    /// Makes a pipe end nonblocking and registers it without interest (the reader or writer asks
    /// for events later). On failure the descriptor is closed and the error thrown.
    func adoptPipe(_ fd: Int32, handler: EventHandler) throws(SystemError) -> Registration {
        do {
            _ = try systemCall("fcntl") { creactor_set_nonblocking(fd) }
            return try register(fd, interest: [], handler: handler)
        } catch {
            _ = CHTTPServerReactor.close(fd)
            throw error
        }
    }
}
