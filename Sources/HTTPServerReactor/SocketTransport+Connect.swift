import CHTTPServerReactor

extension SocketTransport {
    /// Connects (blocking connect, then nonblocking with TCP_NODELAY). For clients and tests.
    /// The transport is not yet reading: set its delegate, then `start()`.
    public static func connect(loop: EventLoop, to address: SocketAddress) throws(SystemError) -> SocketTransport {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socketFD = FileDescriptor(rawValue: try systemCall("socket") { socket(address.family, type, 0) })
        let fd = socketFD.rawValue
        let result = address.withSockAddr { pointer, length in CHTTPServerReactor.connect(fd, pointer, length) }
        if result != 0 {
            let error = creactor_errno()
            // connect interrupted by a signal goes on in the background: wait for it like a nonblocking one.
            guard error == EINTR || error == EINPROGRESS else { throw SystemError(call: "connect", errno: error) }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = try systemCall("poll") { poll(&poller, 1, -1) }
            try checkSocketError(fd)
        }
        _ = try systemCall("fcntl") { creactor_set_nonblocking(fd) }
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        return SocketTransport(loop: loop, fd: socketFD.release())
    }

    /// Connects without blocking the loop: `completion` runs on the loop thread with a connected,
    /// nonblocking, TCP_NODELAY transport (not yet reading: set its delegate, then `start()`),
    /// or with the connect error (e.g. ECONNREFUSED). Errors before the connect starts are thrown.
    public static func connect(loop: EventLoop, to address: SocketAddress,
                               _ completion: @escaping (Result<SocketTransport, SystemError>) -> Void) throws(SystemError) {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socketFD = FileDescriptor(rawValue: try systemCall("socket") { socket(address.family, type, 0) })
        let fd = socketFD.rawValue
        let result = address.withSockAddr { pointer, length in CHTTPServerReactor.connect(fd, pointer, length) }
        if result != 0 {
            let error = creactor_errno()
            guard error == EINPROGRESS || error == EINTR else { throw SystemError(call: "connect", errno: error) }
        }
        // Immediate success or not, completion comes from the loop: the socket reports writable at once.
        let pending = PendingConnect(loop: loop, fd: fd, completion: completion)
        pending.registration = try loop.register(fd, interest: .write, handler: pending)
        _ = socketFD.release()
    }

    static func checkSocketError(_ fd: Int32) throws(SystemError) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try systemCall("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) }
        if error != 0 { throw SystemError(call: "connect", errno: error) }
    }
}

/// Waits for a nonblocking connect to finish (the socket turns writable), then hands the descriptor on.
private final class PendingConnect: EventHandler {
    unowned let loop: EventLoop
    let fd: Int32
    let completion: (Result<SocketTransport, SystemError>) -> Void
    var registration: Registration?

    init(loop: EventLoop, fd: Int32, completion: @escaping (Result<SocketTransport, SystemError>) -> Void) {
        self.loop = loop
        self.fd = fd
        self.completion = completion
    }

    func readable() {}

    func writable() {
        guard let registration else { return }
        self.registration = nil
        loop.deregister(registration)
        do {
            try SocketTransport.checkSocketError(fd)
            try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        } catch {
            _ = CHTTPServerReactor.close(fd)
            completion(.failure(error))
            return
        }
        completion(.success(SocketTransport(loop: loop, fd: fd)))
    }
}
