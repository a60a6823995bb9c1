import CHTTPServerReactor
import Glibc

extension ListeningSocket {
    /// Takes over a TCP socket that is already bound and listening, inherited from the parent
    /// process (systemd's socket activation, or a supervisor that passes a descriptor): it is made
    /// nonblocking and close-on-exec, and gets TCP_NODELAY for the connections it accepts.
    /// Throws (and leaves `fd` open) when `fd` is not a listening IPv4 or IPv6 stream socket.
    public convenience init(adopting fd: Int32) throws(SystemError) {
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try systemCall("getsockopt(SO_ACCEPTCONN)") { getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) }
        guard listening != 0 else { throw SystemError(call: "listen", errno: EINVAL) }
        let address = try SocketAddress.local(of: fd)
        guard address.family == AF_INET || address.family == AF_INET6 else {
            throw SystemError(call: "getsockname", errno: EAFNOSUPPORT)
        }
        _ = try systemCall("fcntl(O_NONBLOCK)") { creactor_set_nonblocking(fd) }
        _ = try systemCall("fcntl(FD_CLOEXEC)") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        self.init(listeningFD: fd, localAddress: address)
    }
}
