import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

/// A few smoke tests over real loopback sockets (the connection logic itself is tested over the
/// fake transport).
@Suite(.serialized) struct LoopbackTests {
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Sockets on local `port` that a process still holds open: ESTABLISHED (01) or CLOSE_WAIT
    /// (08, the peer closed and we did not) in /proc/net/tcp and tcp6. Unlike a count of this
    /// process's descriptors, other suites running meanwhile cannot disturb it.
    static func heldSockets(onPort port: Int) -> Int {
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 3, let colon = fields[1].lastIndex(of: ":"),
                      let localPort = Int(fields[1][fields[1].index(after: colon)...], radix: 16) else { continue }
                if localPort == port && (fields[3] == "01" || fields[3] == "08") { count += 1 }
            }
        }
        return count
    }

    /// Waits up to `seconds` for no socket on `port` to be held open.
    static func noSocketsHeld(onPort port: Int, within seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if heldSockets(onPort: port) == 0 { return true }
            usleep(20_000)
        }
        return heldSockets(onPort: port) == 0
    }

    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(result == 0, "connect: \(errno)")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    @Test func thousandConnectionsTimesHundredKeepAliveRequests() throws {
        Self.raiseDescriptorLimit()
        let server = try HTTPServer(("127.0.0.1", 0), handler: HelloHandler.self, logDestination: .discard)
        let port = server.serverPort
        let thread = Thread { try? server.serveForever() }
        thread.start()

        let connections = 1000, perConnection = 100
        let request = Array("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        var fds = (0..<connections).map { _ in Self.connect(port: server.serverPort) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var buffers = [[UInt8]](repeating: [], count: connections)
        var done = [Int](repeating: 0, count: connections)
        var bad = 0
        for fd in fds { _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        var pollSet = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var finished = 0
        let deadline = Date().addingTimeInterval(60)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while finished < connections && Date() < deadline {
            let ready = poll(&pollSet, nfds_t(pollSet.count), 1000)
            if ready <= 0 { continue }
            for i in pollSet.indices where pollSet[i].revents != 0 {
                pollSet[i].revents = 0
                let n = chunk.withUnsafeMutableBytes { read(fds[i], $0.baseAddress, $0.count) }
                if n <= 0 { bad += 1; pollSet[i].fd = -1; finished += 1; continue }
                buffers[i] += chunk[0..<n]
                // Each response: head, then exactly 13 bytes of body.
                while let end = buffers[i].firstRange(of: [13, 10, 13, 10]) {
                    guard buffers[i].count >= end.upperBound + 13 else { break }
                    let head = String(decoding: buffers[i][..<end.lowerBound], as: UTF8.self)
                    let body = String(decoding: buffers[i][end.upperBound..<(end.upperBound + 13)], as: UTF8.self)
                    if !head.hasPrefix("HTTP/1.1 200 OK\r\n") || !head.contains("Content-Length: 13") || body != "Hello, World!" {
                        bad += 1
                    }
                    buffers[i].removeFirst(end.upperBound + 13)
                    done[i] += 1
                    if done[i] == perConnection {
                        pollSet[i].fd = -1
                        finished += 1
                    } else {
                        _ = request.withUnsafeBytes { write(fds[i], $0.baseAddress, $0.count) }
                    }
                }
            }
        }
        #expect(bad == 0)
        #expect(done.reduce(0, +) == connections * perConnection)
        #expect(server.connectionCount == connections)
        for fd in fds { close(fd) }
        fds.removeAll()
        server.shutdown()
        server.serverClose()
        #expect(server.connectionCount == 0)
        // Every server-side socket of the thousand connections is closed.
        #expect(Self.noSocketsHeld(onPort: port), "\(Self.heldSockets(onPort: port)) sockets still open")
    }

    /// Edge-triggered sockets get no new edge for bytes a full read left behind: 4,000 pipelined
    /// requests written at once (~160 KiB, several read buffers, with answers piling up past the
    /// output high-water mark while the client does not read) are all answered, in order; then a
    /// request and the client's FIN sent together are answered before the server closes.
    @Test func aPipelinedBurstLargerThanTheReadBufferIsAllAnswered() throws {
        let server = try HTTPServer(("127.0.0.1", 0), handler: HelloHandler.self, logDestination: .discard)
        let thread = Thread { try? server.serveForever() }
        thread.start()
        defer { server.shutdown(); server.serverClose() }
        let fd = Self.connect(port: server.serverPort)
        defer { close(fd) }
        let count = 4_000
        let one = Array("GET /burst HTTP/1.1\r\nHost: localhost\r\nUser-Agent: loopback-test\r\n\r\n".utf8)
        var burst = [UInt8]()
        for _ in 0..<count { burst += one }
        burst += Array("GET /last HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        // Written whole before anything is read: the server sees full reads and a growing backlog.
        var sent = 0
        while sent < burst.count {
            let n = burst[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        #expect(sent == burst.count)
        shutdown(fd, Int32(SHUT_WR))
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let responses = text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1
        #expect(responses == count + 1)
        #expect(text.hasSuffix("Hello, World!"))
        #expect(!text.contains("HTTP/1.1 4") && !text.contains("HTTP/1.1 5"))
    }

    @Test func shutdownFromAnotherThreadEndsServeForeverPromptly() throws {
        let server = try HTTPServer(("127.0.0.1", 0), handler: HelloHandler.self, logDestination: .discard)
        let returned = ManagedAtomicFlag()
        let thread = Thread {
            try? server.serveForever()
            returned.set()
        }
        thread.start()
        // Serve one request to be sure the loop is running.
        let fd = Self.connect(port: server.serverPort)
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        #expect(n > 0)
        close(fd)
        let start = Date()
        server.shutdown()
        while !returned.isSet && Date().timeIntervalSince(start) < 5 { usleep(1000) }
        #expect(returned.isSet, "serveForever() has returned")
        #expect(Date().timeIntervalSince(start) < 1)
        server.serverClose()
    }

    @Test func portZeroPicksAFreePortAndIPv6Works() throws {
        let server = try HTTPServer(("::1", 0), handler: HelloHandler.self, logDestination: .discard)
        #expect(server.serverPort > 0)
        #expect(server.serverAddress.host == "::1")
        server.serverClose()
        let named = try HTTPServer(("localhost", 0), handler: HelloHandler.self, logDestination: .discard)
        #expect(named.serverPort > 0)
        #expect(named.serverName == "localhost")
        named.serverClose()
    }

    @Test func portInUseIsAClearError() throws {
        let first = try HTTPServer(("127.0.0.1", 0), handler: HelloHandler.self, logDestination: .discard)
        defer { first.serverClose() }
        #expect {
            _ = try HTTPServer(("127.0.0.1", first.serverPort), handler: HelloHandler.self, logDestination: .discard)
        } throws: { error in
            "\(error)".contains("Address already in use")
        }
    }
}
