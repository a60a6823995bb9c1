import Glibc
import HTTPServerReactor

/// The client end of a real TCP connection to 127.0.0.1, for ``TestClient`` in loopback mode.
///
/// Nonblocking, with `TCP_NODELAY`; every wait is a `poll` with a deadline, and while it writes it
/// also reads (unless told not to), so that a server which answers while a large request is still
/// going out never deadlocks with the client.
final class LoopbackSocket {
    private var fd: Int32
    /// Bytes received and not yet taken.
    private var inbox: [UInt8] = []
    /// The server closed its side (or reset the connection).
    private(set) var isAtEOF = false
    /// The client does not read (the server's writes fill the kernel buffers).
    var isReadingStopped = false

    init(port: Int) throws(TestClientError) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        var result: Int32
        repeat {
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } while result != 0 && errno == EINTR
        guard result == 0 else {
            let error = Self.failure("connect")
            Glibc.close(fd)
            throw error
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Writes all of `bytes` by `deadline`, reading what arrives meanwhile.
    func write(_ bytes: ArraySlice<UInt8>, deadline: Instant) throws(TestClientError) {
        guard fd >= 0 else { throw TestClientError(.connectionReset, "the client reset the connection") }
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + (offset - bytes.startIndex), bytes.endIndex - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
                continue
            }
            let error = errno
            if error == EINTR { continue }
            if error == EPIPE || error == ECONNRESET {
                // The server has closed: the bytes are lost, as they are over the fake socket. What
                // it sent before is still read.
                return
            }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw Self.failure("send", error) }
            guard Instant.now() < deadline else {
                throw TestClientError(.timedOut, "the server took \(offset - bytes.startIndex) of \(bytes.count) bytes")
            }
            var events = Int16(POLLOUT)
            if !isReadingStopped && !isAtEOF { events |= Int16(POLLIN) }
            var poller = pollfd(fd: fd, events: events, revents: 0)
            _ = poll(&poller, 1, Self.milliseconds(until: deadline))
            if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { drain() }
        }
    }

    /// Reads everything that has arrived, without waiting.
    func drain() {
        guard fd >= 0, !isReadingStopped, !isAtEOF else { return }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                inbox += chunk[0..<n]
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            isAtEOF = true  // end of stream, or a reset
            return
        }
    }

    /// Waits until something can be read or `deadline` passes.
    func waitReadable(until deadline: Instant) {
        guard fd >= 0, !isReadingStopped, !isAtEOF else { return }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, Self.milliseconds(until: deadline))
    }

    /// The bytes received since the last call.
    func take() -> [UInt8] {
        defer { inbox.removeAll() }
        return inbox
    }

    /// Bytes received and not yet taken.
    var untaken: [UInt8] { inbox }

    /// `shutdown(SHUT_WR)`: the server reads the end of the stream.
    func shutdownWrite() {
        if fd >= 0 { _ = shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Closes with `SO_LINGER` 0, so the server sees a reset.
    func reset() {
        guard fd >= 0 else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
        fd = -1
        isAtEOF = true
    }

    /// Closes normally.
    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    private static func milliseconds(until deadline: Instant) -> Int32 {
        let nanoseconds = max(0, deadline.nanoseconds - Instant.now().nanoseconds)
        return Int32(min(Int64(Int32.max), (nanoseconds + 999_999) / 1_000_000))
    }

    private static func failure(_ call: String, _ error: Int32 = errno) -> TestClientError {
        TestClientError(.socketFailed, "\(SystemError(call: call, errno: error))")
    }
}
