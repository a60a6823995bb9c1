import CHTTPServerReactor

/// A connected TCP socket on the loop.
///
/// Ownership: while registered, the loop's registration table holds the transport strongly, and the
/// transport holds its delegate strongly; `close()` breaks both. After `close()` the delegate is never
/// called again, and every method is harmless: writes throw `SystemError(call:errno: EBADF)`,
/// the rest do nothing.
///
/// A transport may outlive its loop (it holds the loop's link, not the loop): it then only closes
/// its descriptor.
///
/// Edge-triggered (EPOLLET), as nginx registers its sockets: epoll reports a socket when something
/// new happens to it, in the order it happened, so that busy connections cannot keep the others
/// waiting behind them in epoll's ready list (level-triggered, a socket just served went back to
/// the front: at 256 connections p99 latency was a third above nginx's).
///
/// Reading: one read into the loop's shared buffer per readable event, handed to `bytesReceived`.
/// A read that came back short emptied the socket; a full one is followed by an `EPOLL_CTL_MOD`
/// that has epoll report the socket again (one read per connection per wake-up keeps a fast
/// sender from starving the rest). Writing is eager. EPOLLOUT is armed by the first
/// `awaitWritable()` and stays armed: after a write that would block, the edge that follows is what
/// `transportWritable()` waits for, with no epoll_ctl (`awaitWritable()` without a blocked write
/// re-arms once, so that epoll looks again).
public final class SocketTransport: Transport, EventHandler {
    /// Not owned: the loop owns its registered transports, and a transport kept past its loop must
    /// not crash (the link reads nil then).
    private let loopLink: EventLoop.Link
    private var loop: EventLoop? { loopLink.loop }
    /// The loop's read buffer, cached for the hot path; used only inside the loop's own callbacks.
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var rawFD: Int32
    private var registration: Registration?
    private var strongDelegate: TransportDelegate?

    private var isClosed = false
    private var isReadingPaused = false
    /// Paused, and the socket may have bytes (or an end) that no edge will announce again: an
    /// edge came while paused, or the pause came in a read that left bytes behind.
    private var isReadPending = false
    /// Read returned 0 or failed: reading is over for good.
    private var isInputFinished = false
    private var isAwaitingWritable = false
    /// The last write returned EAGAIN: an EPOLLOUT edge will come once the peer takes more.
    private var isWriteBlocked = false
    /// EPOLLOUT is armed from the first `awaitWritable()` on (never before: a new socket is writable
    /// at once, and its edge would wake the loop before the request has even arrived).
    private var isWriteArmed = false
    /// A read or epoll_ctl failed: epoll hears nothing more of this socket.
    private var isFailed = false
    /// `outputEndsStream()` was called: writes carry MSG_MORE.
    private var isEndingStream = false

    public var delegate: TransportDelegate? {
        get { strongDelegate }
        set { if !isClosed { strongDelegate = newValue } }
    }

    /// The socket descriptor; -1 after `close()`.
    public var fd: Int32 { rawFD }

    /// Takes ownership of a connected, nonblocking socket descriptor (closed by `close()` or deinit).
    public init(loop: EventLoop, fd: Int32) {
        self.loopLink = loop.link
        self.readBuffer = loop.readBuffer
        self.rawFD = fd
    }

    deinit {
        // Only reached without close() if never started, or if the loop itself went away.
        if rawFD >= 0 { _ = CHTTPServerReactor.close(rawFD) }
    }

    /// The peer's address (getpeername).
    public func peerAddress() throws(SystemError) -> SocketAddress {
        try SocketAddress.peer(of: try openFD("getpeername"))
    }

    /// The local address (getsockname).
    public func localAddress() throws(SystemError) -> SocketAddress {
        try SocketAddress.local(of: try openFD("getsockname"))
    }

    /// Registers with the loop and starts reading. Call once, after setting the delegate.
    public func start() throws(SystemError) {
        let fd = try openFD("epoll_ctl")
        precondition(registration == nil, "start: transport already started")
        guard let loop else { throw SystemError(call: "epoll_ctl", errno: EBADF) }
        registration = try loop.register(fd, interest: desiredInterest, handler: self)
    }

    // MARK: Interest

    /// What the loop polls this socket for; nil when not registered (tests).
    var currentInterest: Interest? { registration.flatMap { loop?.interest(of: $0) } }

    private var desiredInterest: Interest {
        if isFailed { return [] }
        var interest: Interest = isWriteArmed ? [.write, .edge] : [.edge]
        // Paused or not: a pause changes no interest (`pauseReading()`).
        if !isInputFinished { interest.insert(.read) }
        return interest
    }

    /// One epoll_ctl at most, and none when nothing changed (the loop compares with the current interest).
    private func updateInterest() {
        guard let registration, !isClosed, let loop else { return }
        do {
            try loop.modify(registration, interest: desiredInterest)
        } catch {
            fail(error)
        }
    }

    /// Stops reading: no `bytesReceived` until `resumeReading()`. Bytes the peer sends wait in the
    /// kernel, where TCP flow control slows the peer; a hang-up is still noticed (`peerHalfClosed`).
    ///
    /// Lazily, with no epoll_ctl: the socket stays registered for reading (edge-triggered, so
    /// epoll reports it at most once per arrival), an edge that comes while paused is noted, and
    /// `resumeReading()` has epoll look again only if one came. A request handed to a worker
    /// pauses and resumes its connection: two epoll_ctl calls per request before (`bench-server
    /// hello --threads 64`, perf stat), none now.
    public func pauseReading() {
        isReadingPaused = true
    }

    /// Reads again after `pauseReading()`, starting with what waited in the kernel.
    public func resumeReading() {
        guard isReadingPaused else { return }
        isReadingPaused = false
        guard isReadPending, !isClosed, !isInputFinished, let registration, let loop else { return }
        isReadPending = false
        do {
            try loop.rearm(registration)
        } catch {
            fail(error)
        }
    }

    /// An event while paused: noted for `resumeReading()`; a hang-up is heard at once.
    private func eventWhilePaused() {
        isReadPending = true
        if loop?.eventReportsPeerClosed == true { hangup() }
    }

    public func awaitWritable() {
        guard !isAwaitingWritable, !isClosed else { return }
        isAwaitingWritable = true
        if !isWriteArmed {
            // Adding EPOLLOUT makes epoll look at the socket: an edge if it is writable already.
            isWriteArmed = true
            updateInterest()
            return
        }
        // After EAGAIN an edge is on its way. Otherwise there may be none to come (the socket may
        // already be writable): have epoll look again.
        guard !isWriteBlocked, let registration, let loop else { return }
        do {
            try loop.rearm(registration)
        } catch {
            fail(error)
        }
    }

    // MARK: Events

    /// The client closed or reset while reading was paused. A reset fails the transport; a close
    /// with nothing left unread is the end of input; a close with bytes still unread is reported as
    /// `peerHalfClosed()` (they are read, and the end with them, once reading resumes).
    public func hangup() {
        guard !isClosed, rawFD >= 0 else { return }
        var byte: UInt8 = 0
        let n = recv(rawFD, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if n > 0 {
            delegate?.peerHalfClosed(unreadBytes: Int(max(0, creactor_unread_bytes(rawFD))))
        } else if n == 0 {
            isInputFinished = true
            updateInterest()
            delegate?.endOfInput()
        } else {
            let code = creactor_errno()
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            fail(SystemError(call: "recv", errno: code))
        }
    }

    public func readable() {
        if isReadingPaused { return eventWhilePaused() }
        let buffer = readBuffer
        while !isClosed, !isInputFinished, !isReadingPaused {
            let count: Int
            do {
                count = try systemCall("read") { CHTTPServerReactor.read(rawFD, buffer.baseAddress, buffer.count) }
            } catch {
                if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return }
                isInputFinished = true
                updateInterest()
                strongDelegate?.transportFailed(error)
                return
            }
            if count == 0 {
                isInputFinished = true
                updateInterest()
                strongDelegate?.endOfInput()
                return
            }
            strongDelegate?.bytesReceived(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
            guard !isClosed, !isInputFinished, let registration, let loop else { return }
            if isReadingPaused {
                // Paused by these bytes. Bytes left behind have no edge to come: resuming looks
                // again. An end of stream reported with them is heard now, as a paused socket
                // hears one (an event at the next wake-up).
                if count == buffer.count { isReadPending = true }
                if loop.eventReportsPeerClosed {
                    do {
                        try loop.rearm(registration)
                    } catch {
                        fail(error)
                    }
                }
                return
            }
            if count == buffer.count {
                // Bytes may be left behind, and no new edge would announce them: epoll reports the
                // socket again on a later wake-up (one read per connection per wake-up is fair).
                do {
                    try loop.rearm(registration)
                } catch {
                    fail(error)
                }
                return
            }
            // A short read emptied the socket. The end of the stream may have come with those bytes,
            // and brings no edge of its own: read on to it if the event reported it.
            guard loop.eventReportsPeerClosed else { return }
        }
    }

    public func writable() {
        guard !isClosed else { return }
        isWriteBlocked = false
        guard isAwaitingWritable else { return }
        isAwaitingWritable = false
        strongDelegate?.transportWritable()
    }

    /// Notes EAGAIN: the EPOLLOUT edge that follows is what `awaitWritable()` waits for.
    @inline(__always)
    private func noting(_ result: IOResult) -> IOResult {
        if result == .wouldBlock { isWriteBlocked = true }
        return result
    }

    private func fail(_ error: SystemError) {
        isFailed = true
        isInputFinished = true
        isAwaitingWritable = false
        if let registration { try? loop?.modify(registration, interest: []) }
        strongDelegate?.transportFailed(error)
    }

    // MARK: Writing

    @inline(__always)
    private func openFD(_ call: String) throws(SystemError) -> Int32 {
        if isClosed || rawFD < 0 { throw SystemError(call: call, errno: EBADF) }
        return rawFD
    }

    /// send(2) with MSG_NOSIGNAL.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        let fd = try openFD("send")
        if bytes.isEmpty { return .processed(0) }
        let more: Int32 = isEndingStream ? 1 : 0
        return noting(try ioCall("send") { creactor_send(fd, bytes.baseAddress, bytes.count, more) })
    }

    /// sendmsg(2) with MSG_NOSIGNAL (a writev that cannot raise SIGPIPE), through the loop's
    /// preallocated iovec array; at most IOV_MAX buffers go out per call (the rest is a short write).
    public func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        let fd = try openFD("sendmsg")
        guard let loop else { throw SystemError(call: "sendmsg", errno: EBADF) }
        let iovecs = loop.iovecs
        var count = 0
        for buffer in buffers where !buffer.isEmpty {
            if count == loop.iovecCapacity { break }
            iovecs[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                                  iov_len: buffer.count)
            count += 1
        }
        if count == 0 { return .processed(0) }
        let more: Int32 = isEndingStream ? 1 : 0
        return noting(try ioCall("sendmsg") { creactor_sendv(fd, iovecs, Int32(count), more) })
    }

    /// sendfile(2) of `range` of `file`. `.processed(0)` for a non-empty range means the file ended
    /// before the range did (it shrank).
    public func sendFile(_ file: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        let fd = try openFD("sendfile")
        if range.isEmpty { return .processed(0) }
        var offset = off_t(range.lowerBound)
        let input = file.rawValue
        return noting(try ioCall("sendfile") { CHTTPServerReactor.sendfile(fd, input, &offset, range.count) })
    }

    /// From now on writes carry MSG_MORE: the kernel holds the last partial segment until `close()`
    /// or `shutdownWrite()` sends it with the FIN (one packet, not two). sendfile is unaffected.
    public func outputEndsStream() {
        isEndingStream = true
    }

    /// shutdown(SHUT_WR): the peer sees end of stream; reading goes on.
    public func shutdownWrite() {
        guard !isClosed, rawFD >= 0 else { return }
        _ = CHTTPServerReactor.shutdown(rawFD, Int32(SHUT_WR))
    }

    /// Deregisters, closes the socket and releases the delegate, which hears nothing more. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        let fd = rawFD
        rawFD = -1
        strongDelegate = nil
        if let registration {
            self.registration = nil
            // Last: this may release the loop's reference to self (the caller still holds one).
            loop?.deregister(registration, descriptorClosing: fd >= 0)
        }
        if fd >= 0 { _ = CHTTPServerReactor.close(fd) }
    }
}
