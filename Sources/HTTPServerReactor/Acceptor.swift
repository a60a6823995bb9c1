import CHTTPServerReactor

/// accept4 as the acceptor calls it: returns the new descriptor, or minus the errno.
/// Injectable so tests can simulate EMFILE without lowering the shared process's RLIMIT_NOFILE.
typealias AcceptFunction = (_ listener: Int32, _ address: inout sockaddr_storage, _ length: inout socklen_t) -> Int32

func systemAccept(_ listener: Int32, _ address: inout sockaddr_storage, _ length: inout socklen_t) -> Int32 {
    let fd = creactor_accept(listener, &address, &length)
    return fd >= 0 ? fd : -creactor_errno()
}

/// Accepts connections for one listener: accept4 until EAGAIN, at most `maxPerWakeup` a wake-up so a
/// connection storm cannot starve reading. Out of descriptors, it stops polling the listener and retries
/// on a timer: level-triggered epoll would otherwise report the pending connection forever (100% CPU).
final class Acceptor: EventHandler {
    unowned let loop: EventLoop
    let listener: ListeningSocket
    let maxPerWakeup: Int
    let retryDelay: Duration
    let accept: AcceptFunction
    /// `.read`, or `[.read, .exclusive]` for a listener shared with other loops.
    let interest: Interest
    let onAccept: (SocketTransport, SocketAddress) -> Void
    var registration: Registration?
    private var retryTimer: Timer?
    /// Times accepting was paused for lack of resources (for tests and metrics).
    private(set) var pauseCount = 0

    init(loop: EventLoop, listener: ListeningSocket, maxPerWakeup: Int, retryDelay: Duration, interest: Interest,
         accept: @escaping AcceptFunction, onAccept: @escaping (SocketTransport, SocketAddress) -> Void) {
        self.interest = interest
        self.loop = loop
        self.listener = listener
        self.maxPerWakeup = max(1, maxPerWakeup)
        self.retryDelay = retryDelay
        self.accept = accept
        self.onAccept = onAccept
    }

    var isPaused: Bool { retryTimer?.isArmed ?? false }

    func readable() {
        let accepted = acceptBatch()
        if accepted > 0 && interest.contains(.exclusive) { moveToBackOfWaitQueue() }
    }

    /// A listener shared by several loops: after this loop took a connection, it re-registers, which
    /// puts its entry at the back of the listener's wait queue. The kernel wakes the first waiting
    /// loop in that queue, so without this the loop registered first takes nearly every connection
    /// while it is idle; with it, idle loops take turns. Two `epoll_ctl` per wake-up that accepted.
    private func moveToBackOfWaitQueue() {
        guard let registration, loop.interest(of: registration) == interest else { return }
        do {
            try loop.modify(registration, interest: [])
            try loop.modify(registration, interest: interest)
        } catch {
            pause()
        }
    }

    /// accept4 until EAGAIN or `maxPerWakeup`; returns the connections taken.
    private func acceptBatch() -> Int {
        let listenFD = listener.fd
        var accepted = 0
        while accepted < maxPerWakeup, registration != nil {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = accept(listenFD, &storage, &length)
            if fd >= 0 {
                accepted += 1
                // TCP_NODELAY is inherited from the listening socket (see ListeningSocket).
                onAccept(SocketTransport(loop: loop, fd: fd), SocketAddress(storage: storage, length: length))
                continue
            }
            switch -fd {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                return accepted
            case ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
                 EOPNOTSUPP, ENETUNREACH:
                // This connection died before we took it (or the firewall refused it): skip it.
                accepted += 1
                continue
            default:
                // EMFILE, ENFILE, ENOBUFS, ENOMEM, or something unexpected: back off instead of spinning.
                pause()
                return 0
            }
        }
        return accepted
    }

    func writable() {}

    private func pause() {
        guard let registration else { return }
        pauseCount += 1
        try? loop.modify(registration, interest: [])
        let timer = retryTimer ?? Timer { [weak self] in self?.resume() }
        retryTimer = timer
        loop.arm(timer, at: loop.now.advanced(by: retryDelay))
    }

    private func resume() {
        guard let registration, loop.isCurrent(registration) else { return }
        do {
            try loop.modify(registration, interest: interest)
        } catch {
            // epoll_ctl itself is short of memory: try again later.
            pause()
        }
    }

    func stop() {
        if let retryTimer { loop.disarm(retryTimer) }
        if let registration { loop.deregister(registration) }
        registration = nil
    }
}

extension EventLoop {
    /// Accepts connections from `listener` (accept4 until EAGAIN, at most `maxPerWakeup` a wake-up;
    /// EMFILE/ENFILE pause accepting and retry after `acceptRetryDelay`). Each accepted socket is
    /// nonblocking, with TCP_NODELAY, and handed over as a transport not yet reading: set its delegate,
    /// then `start()`. The loop holds `listener` until `stopAccepting` or `listener.close()`.
    ///
    /// `sharedWithOtherLoops`: several loops accept from this one listener, each on its own thread
    /// (N reactors in one process). It is registered with EPOLLEXCLUSIVE, so that a connection
    /// wakes one loop waiting in `epoll_wait` rather than all of them; a loop busy serving is not
    /// waiting, so the connection goes to one that is idle. On a kernel without EPOLLEXCLUSIVE
    /// (before Linux 4.5) it falls back to a plain registration: every waiting loop wakes, one
    /// accepts, the others find nothing (EAGAIN).
    public func startAccepting(_ listener: ListeningSocket, maxPerWakeup: Int = 64, sharedWithOtherLoops: Bool = false,
                               _ onAccept: @escaping (SocketTransport, SocketAddress) -> Void) throws(SystemError) {
        let interest: Interest = sharedWithOtherLoops ? [.read, .exclusive] : .read
        do throws(SystemError) {
            _ = try startAccepting(listener, maxPerWakeup: maxPerWakeup, interest: interest, accept: systemAccept, onAccept)
        } catch {
            guard error.errno == EINVAL && sharedWithOtherLoops else { throw error }
            _ = try startAccepting(listener, maxPerWakeup: maxPerWakeup, interest: .read, accept: systemAccept, onAccept)
        }
    }

    /// As above, with an injectable accept call (tests).
    func startAccepting(_ listener: ListeningSocket, maxPerWakeup: Int, interest: Interest = .read,
                        accept: @escaping AcceptFunction,
                        _ onAccept: @escaping (SocketTransport, SocketAddress) -> Void) throws(SystemError) -> Acceptor {
        precondition(listener.fd >= 0, "startAccepting: the listener is closed")
        precondition(acceptors[ObjectIdentifier(listener)] == nil, "startAccepting: already accepting on this listener")
        let acceptor = Acceptor(loop: self, listener: listener, maxPerWakeup: maxPerWakeup,
                                retryDelay: acceptRetryDelay, interest: interest, accept: accept, onAccept: onAccept)
        acceptor.registration = try register(listener.fd, interest: interest, handler: acceptor)
        acceptors[ObjectIdentifier(listener)] = acceptor
        listener.addAcceptingLoop(self)
        return acceptor
    }

    /// Stops accepting from `listener` (it stays open). Harmless if not accepting.
    public func stopAccepting(_ listener: ListeningSocket) {
        guard let acceptor = acceptors.removeValue(forKey: ObjectIdentifier(listener)) else { return }
        acceptor.stop()
        listener.removeAcceptingLoop(self)
    }
}
