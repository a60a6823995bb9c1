import CHTTPServerReactor

/// The read end of a pipe on the loop: a child process's standard output or standard error.
///
/// Nonblocking and level-triggered (sockets are edge-triggered; a pipe has one reader and no
/// ordering among peers to keep): one `read` into the loop's shared
/// buffer per readable event, so a chatty child cannot starve the loop's other descriptors, and a
/// paused reader holds nothing in memory — the child blocks on a full pipe instead (backpressure).
/// At end of file, or on a read error, the reader deregisters and closes its descriptor before it
/// calls `onEnd`, so a finished pipe never holds a descriptor.
///
/// Ownership: the loop's registration holds the reader strongly until it is closed; `close()` (or
/// the end of the stream) releases the callbacks, so closures that capture the owner make no cycle
/// that outlives the stream.
public final class PipeReader: EventHandler {
    private let loopLink: EventLoop.Link
    private var loop: EventLoop? { loopLink.loop }
    private var rawFD: Int32
    private var registration: Registration?
    private var isPaused = false
    private var isStarted = false
    private var dataHandler: ((UnsafeRawBufferPointer) -> Void)?
    private var endHandler: ((SystemError?) -> Void)?

    /// True once the stream has ended or `close()` was called.
    public private(set) var isClosed = false
    /// Bytes delivered so far.
    public private(set) var bytesRead = 0

    /// The descriptor; -1 once closed.
    public var fd: Int32 { rawFD }

    /// Takes ownership of `fd` (made nonblocking here) and registers it, without interest until
    /// `start`. On failure the descriptor is closed.
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

    /// Starts reading: `onData` gets each piece as it arrives (valid during the call only), and
    /// `onEnd` is called once, with nil at end of file or the error that ended the stream. Calling
    /// `start` again replaces the callbacks.
    public func start(onData: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (SystemError?) -> Void) {
        guard !isClosed else { return }
        dataHandler = onData
        endHandler = onEnd
        isStarted = true
        updateInterest()
    }

    /// No more `onData` until `resume()`: the bytes wait in the pipe, and the writer blocks when
    /// the pipe is full.
    public func pause() {
        guard !isPaused else { return }
        isPaused = true
        updateInterest()
    }

    /// `onData` again after `pause()`, starting with the bytes that waited in the pipe.
    public func resume() {
        guard isPaused else { return }
        isPaused = false
        updateInterest()
    }

    /// True while paused.
    public var isReadingPaused: Bool { isPaused }

    /// Deregisters and closes the descriptor; `onEnd` is not called. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        dataHandler = nil
        endHandler = nil
        release()
    }

    private func release() {
        let fd = rawFD
        rawFD = -1
        if let registration {
            self.registration = nil
            loop?.deregister(registration)
        }
        if fd >= 0 { _ = CHTTPServerReactor.close(fd) }
    }

    private func updateInterest() {
        guard let registration, let loop, !isClosed else { return }
        let interest: Interest = isStarted && !isPaused ? .read : []
        do {
            try loop.modify(registration, interest: interest)
        } catch {
            finish(error)
        }
    }

    /// Reads what the pipe holds now, without waiting, for a last look after the writer has
    /// exited: at most `maxReads` reads (a writer that is still alive, such as a process the
    /// child left behind, could otherwise keep this going). Delivers through `onData`; ends the
    /// stream at end of file. Not from inside another reader's callback: the loop's read buffer
    /// is shared.
    public func drainAvailable(maxReads: Int = 16) {
        var reads = 0
        while !isClosed && !isPaused && reads < maxReads {
            reads += 1
            guard readOnce() else { return }
        }
    }

    // MARK: EventHandler

    public func readable() {
        guard !isClosed, !isPaused else { return }
        _ = readOnce()
    }

    public func writable() {}

    /// One read. Returns true when bytes were delivered (more may follow).
    private func readOnce() -> Bool {
        guard let loop else { return false }
        let buffer = loop.readBuffer
        let count: Int
        do {
            count = try systemCall("read") { CHTTPServerReactor.read(rawFD, buffer.baseAddress, buffer.count) }
        } catch {
            if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return false }
            finish(error)
            return false
        }
        if count == 0 {
            finish(nil)
            return false
        }
        bytesRead += count
        dataHandler?(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
        return true
    }

    private func finish(_ error: SystemError?) {
        guard !isClosed else { return }
        isClosed = true
        let handler = endHandler
        dataHandler = nil
        endHandler = nil
        release()
        handler?(error)
    }
}
