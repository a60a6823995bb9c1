import CHTTPServerReactor

/// A nonblocking listening TCP socket.
///
/// Hand it to `EventLoop.startAccepting(_:maxPerWakeup:sharedWithOtherLoops:_:)`. Several loops may
/// accept from one listener (`sharedWithOtherLoops`, as `HTTPServer` with `reactors` > 1 does); or
/// each loop gets its own listener bound with `reusePort: true`, and the kernel spreads
/// connections over them by a hash of the client's address.
public final class ListeningSocket {
    private var rawFD: Int32
    /// The address actually bound (getsockname: port 0 has become the chosen port).
    public let localAddress: SocketAddress
    /// The loops accepting on this socket, so that `close()` can deregister first (a descriptor
    /// number closed while still in a loop's table could come back from `accept4` in that loop).
    /// Locked: the loops sharing the socket start and stop accepting each on its own thread.
    private let acceptingLoops = Lock<[WeakLoop]>([])

    private struct WeakLoop {
        let link: EventLoop.Link
        var loop: EventLoop? { link.loop }
    }

    func addAcceptingLoop(_ loop: EventLoop) {
        acceptingLoops.withLock { loops in
            loops.removeAll { $0.loop == nil || $0.loop === loop }
            loops.append(WeakLoop(link: loop.link))
        }
    }

    func removeAcceptingLoop(_ loop: EventLoop) {
        acceptingLoops.withLock { loops in loops.removeAll { $0.loop == nil || $0.loop === loop } }
    }

    /// socket, setsockopt, bind, listen.
    /// - Parameters:
    ///   - address: the address to bind (port 0: the kernel picks a free port).
    ///   - reuseAddress: SO_REUSEADDR, so a restarted server can bind while old connections sit in TIME_WAIT.
    ///   - reusePort: SO_REUSEPORT, for several listeners (one per loop) on the same port.
    ///   - backlog: listen(2) backlog (the kernel caps it at net.core.somaxconn).
    ///   - ipv6Only: IPV6_V6ONLY for an IPv6 address; `nil` keeps the system default
    ///     (net.ipv6.bindv6only), `false` makes a dual-stack socket that also accepts IPv4.
    public init(address: SocketAddress, reuseAddress: Bool = true, reusePort: Bool = false,
                backlog: Int32 = 4096, ipv6Only: Bool? = nil) throws(SystemError) {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = FileDescriptor(rawValue: try systemCall("socket") { socket(address.family, type, 0) })
        let fd = descriptor.rawValue
        if reuseAddress { try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)") }
        if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)") }
        // Accepted sockets inherit TCP_NODELAY from the listener on Linux: set once here rather
        // than with a system call per connection. Small responses must not wait for Nagle.
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        if address.isIPv6, let ipv6Only {
            try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, ipv6Only ? 1 : 0, "setsockopt(IPV6_V6ONLY)")
        }
        _ = try address.withSockAddr { (pointer, length) throws(SystemError) in
            try systemCall("bind") { bind(fd, pointer, length) }
        }
        _ = try systemCall("listen") { listen(fd, backlog) }
        localAddress = try SocketAddress.local(of: fd)
        rawFD = descriptor.release()
    }

    /// Takes ownership of a descriptor already listening (ListeningSocket+Adopting.swift).
    init(listeningFD: Int32, localAddress: SocketAddress) {
        self.rawFD = listeningFD
        self.localAddress = localAddress
    }

    /// The listening descriptor; -1 after `close()`.
    public var fd: Int32 { rawFD }

    /// Stops accepting (in every loop that is) and closes. Idempotent. Call it when no loop that
    /// accepts on it is running, or on the thread of the only one.
    public func close() {
        let loops = acceptingLoops.withLock { loops in
            defer { loops.removeAll() }
            return loops.compactMap(\.loop)
        }
        for loop in loops { loop.stopAccepting(self) }
        if rawFD >= 0 {
            _ = CHTTPServerReactor.close(rawFD)
            rawFD = -1
        }
    }

    deinit {
        if rawFD >= 0 { _ = CHTTPServerReactor.close(rawFD) }
    }
}

/// setsockopt with an int value.
func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ call: String) throws(SystemError) {
    var value = value
    _ = try systemCall(call) {
        setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
