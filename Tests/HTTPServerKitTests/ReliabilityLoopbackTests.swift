import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

// Bad clients over real loopback sockets: slow-loris, client faults, graceful shutdown. Leak checks
// look for this process's descriptors on the test server's port (other suites run in parallel and
// open descriptors of their own, so a plain count of /proc/self/fd would not say whose they are).

/// A server serving on its own thread.
final class ServerThread: @unchecked Sendable {
    let server: HTTPServer
    private let returned = ManagedAtomicFlag()

    init(configuration: ServerConfiguration = ServerConfiguration(),
         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        server = try HTTPServer(("127.0.0.1", 0), configuration: configuration, logDestination: .discard,
                                handlerFactory: handlerFactory)
        let server = self.server
        let returned = self.returned
        Thread { try? server.serveForever(); returned.set() }.start()
    }

    var port: Int { server.serverPort }
    var hasReturned: Bool { returned.isSet }

    /// Runs `body` on the loop thread and returns its result.
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        let work = UncheckedBox(body)
        server.loop!.execute { box.value = work.value(); done.signal() }
        done.wait()
        return box.value!
    }

    var connectionCount: Int {
        let server = self.server
        return onLoop { server.connectionCount }
    }

    /// Graceful shutdown (from this thread: waits for `serveForever()` to return), then close.
    func stop() {
        server.shutdown()
        server.serverClose()
    }
}

final class ResultBox<T>: @unchecked Sendable { var value: T? }
/// Hands a value to the loop thread, which alone uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ value: T) { self.value = value } }

/// Whether this test binary runs under AddressSanitizer or ThreadSanitizer (a debug build under a
/// sanitizer is several times slower: timing bounds scale with `timingFactor`).
enum Sanitizer {
    static let isActive: Bool = {
        let me = dlopen(nil, RTLD_NOW)
        return dlsym(me, "__asan_init") != nil || dlsym(me, "__tsan_init") != nil
    }()
    static var timingFactor: Double { isActive ? 5 : 1 }
}

/// Waits up to `seconds` for `condition`.
func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Raw client sockets.
enum Sock {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw SocketFailure(description: "connect: errno \(error)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    struct SocketFailure: Error, CustomStringConvertible { var description: String }

    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    @discardableResult
    static func send(_ fd: Int32, _ text: String) -> Int { send(fd, Array(text.utf8)) }

    /// Closes with a reset (SO_LINGER 0): the server's next read or write fails with ECONNRESET.
    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    struct Received {
        var bytes: [UInt8] = []
        var isEOF = false
        var isReset = false
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Reads until the peer closes, a reset, or `seconds` pass.
    static func readToEnd(_ fd: Int32, seconds: Double = 5) -> Received {
        read(fd, seconds: seconds) { _ in false }
    }

    /// Reads until `done(bytes)`, end of stream, a reset, or `seconds` pass.
    static func read(_ fd: Int32, seconds: Double = 5, until done: ([UInt8]) -> Bool) -> Received {
        var result = Received()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while !done(result.bytes) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                result.bytes += chunk[0..<n]
            } else if n == 0 {
                result.isEOF = true
                break
            } else if errno != EAGAIN && errno != EINTR {
                result.isReset = errno == ECONNRESET
                break
            }
        }
        return result
    }

    /// Reads one whole response with a Content-Length body (or until the close).
    static func readResponse(_ fd: Int32, seconds: Double = 5) -> Received {
        read(fd, seconds: seconds) { Self.isCompleteResponse($0) }
    }

    static func isCompleteResponse(_ bytes: [UInt8]) -> Bool {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return false }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) else { return false }
        return bytes.count >= end.upperBound + length
    }

    /// This process's descriptors that are TCP sockets with `port` at either end, listeners
    /// excluded: the server's accepted connections and the test's clients.
    static func openSockets(onPort port: Int) -> Int {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[3] != "0A" else { continue }  // 0A: LISTEN
                let local = fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                let remote = fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                if local == port || remote == port { inodes.insert("socket:[\(fields[9])]") }
            }
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")).map(inodes.contains) ?? false
        }.count
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}

@Suite(.serialized) struct ReliabilityLoopbackTests {
    typealias Scenario = HardeningScenarioTests.Scenario
    typealias Handlers = HardeningScenarioTests.Handlers

    static func scenarioServer(configuration: ServerConfiguration = ServerConfiguration(), file: String = "",
                               handlers: Handlers) throws -> ServerThread {
        try ServerThread(configuration: configuration) {
            let handler = Scenario()
            handler.filePath = file
            handlers.track(handler)
            return handler
        }
    }

    // MARK: Client faults

    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case resetInHead, resetInBody, resetInResponse, resetInFileDownload, closeInFileDownload
        case halfCloseAfterRequest, resetWhileWaitingFor100Continue, closeWhileWaitingFor100Continue
        case stopReadingThenReset
        var testDescription: String { rawValue }
    }

    /// Each fault over a real socket: no crash, the connection is gone from the server, its handler
    /// is freed, and no descriptor (socket or file) is left open.
    @Test(arguments: Fault.allCases)
    func clientFaultsLeaveNoDescriptorBehind(_ fault: Fault) throws {
        let path = try HardeningScenarioTests.temporaryFile(size: 8 << 20)
        defer { unlink(path) }
        let handlers = Handlers()
        let server = try Self.scenarioServer(file: path, handlers: handlers)
        let port = server.port
        let fd = try Sock.connect(port: port)
        switch fault {
        case .resetInHead:
            Sock.send(fd, "GET / HTTP/1.1\r\nHost: exa")
            usleep(20_000)
            Sock.reset(fd)
        case .resetInBody:
            Sock.send(fd, "POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "b", count: 5000))
            usleep(20_000)
            Sock.reset(fd)
        case .resetInResponse, .resetInFileDownload, .closeInFileDownload:
            Sock.send(fd, fault == .resetInResponse ? "GET /drip HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = Sock.read(fd) { $0.count >= 100_000 }
            #expect(first.bytes.count >= 100_000)
            if fault == .closeInFileDownload { close(fd) } else { Sock.reset(fd) }
        case .halfCloseAfterRequest:
            Sock.send(fd, "GET /file HTTP/1.1\r\nHost: example\r\n\r\n")
            shutdown(fd, Int32(SHUT_WR))
            let all = Sock.readToEnd(fd, seconds: 10)
            #expect(all.isEOF && !all.isReset)
            #expect(all.text.hasPrefix("HTTP/1.1 200 "))
            let isComplete = Sock.isCompleteResponse(all.bytes)
            #expect(isComplete, "the whole file arrives after the half-close")
            #expect(all.bytes.count > 8 << 20)
            close(fd)
        case .resetWhileWaitingFor100Continue, .closeWhileWaitingFor100Continue:
            Sock.send(fd, "POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
            let interim = Sock.read(fd) { $0.firstRange(of: [13, 10, 13, 10]) != nil }
            #expect(interim.text.hasPrefix("HTTP/1.1 100 Continue\r\n"))
            if fault == .resetWhileWaitingFor100Continue { Sock.reset(fd) } else { close(fd) }
        case .stopReadingThenReset:
            for _ in 0..<20 { Sock.send(fd, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n") }
            usleep(200_000)
            Sock.reset(fd)
        }
        #expect(eventually(5) { server.connectionCount == 0 }, "the server let go of the connection")
        #expect(eventually(5) { HardeningScenarioTests.descriptors(openOn: path) == 0 }, "the file is closed")
        #expect(eventually(5) { Sock.openSockets(onPort: port) == 0 }, "no socket left")
        #expect(server.onLoop { handlers.alive } == 0, "no handler left")
        // The server still serves.
        let next = try Sock.connect(port: port)
        Sock.send(next, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Sock.readResponse(next).text.hasSuffix("Hello, World!"))
        close(next)
        server.stop()
        #expect(server.server.connectionCount == 0)
    }

    // MARK: Slow-loris

    /// 5,000 connections trickle one header byte every half second against a 2 s head timeout
    /// (the default 60 s, scaled down). A well-behaved client is served throughout, every attacker
    /// gets its 408 once the head timeout has passed since its first byte, and nothing is left.
    @Test func slowLorisOfFiveThousandConnectionsOverLoopback() throws {
        LoopbackTests.raiseDescriptorLimit()
        let descriptorsBefore = Sock.openDescriptorCount()
        let summary = try Self.slowLoris()
        // The server, its loop and every socket are gone by now.
        let descriptorsAfter = Sock.openDescriptorCount()
        print("\(summary); descriptors before \(descriptorsBefore), after \(descriptorsAfter)")
    }

    static func slowLoris() throws -> String {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(2)
        configuration.lingerTimeout = .seconds(1)
        let server = try ServerThread(configuration: configuration) { HelloHandler() }
        let port = server.port
        let good = try Sock.connect(port: port)
        let head = Array("GET /slow HTTP/1.1\r\nHost: example\r\nUser-Agent: slow-loris\r\n".utf8)
        var attackers: [Int32] = []
        var firstByteAt: [Date] = []
        for _ in 0..<5000 {
            let fd = try Sock.connect(port: port)
            Sock.setNonBlocking(fd)
            Sock.send(fd, [head[0]])
            attackers.append(fd)
            firstByteAt.append(Date())
        }
        var sent = [Int](repeating: 1, count: attackers.count)
        var received = [[UInt8]](repeating: [], count: attackers.count)
        var cutOffAfter = [Double](repeating: -1, count: attackers.count)
        var open = attackers.count
        var goodLatencies: [Double] = []
        var lastTrickle = Date()
        var lastGood = Date.distantPast
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(15 * Sanitizer.timingFactor)
        while open > 0 && Date() < deadline {
            if Date().timeIntervalSince(lastTrickle) >= 0.5 {
                lastTrickle = Date()
                for i in attackers.indices where cutOffAfter[i] < 0 && sent[i] < head.count {
                    Sock.send(attackers[i], [head[sent[i]]])
                    sent[i] += 1
                }
            }
            if Date().timeIntervalSince(lastGood) >= 0.1 {
                lastGood = Date()
                let start = Date()
                Sock.send(good, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
                let response = Sock.readResponse(good, seconds: 5 * Sanitizer.timingFactor)
                goodLatencies.append(Date().timeIntervalSince(start))
                #expect(response.text.hasSuffix("Hello, World!"))
            }
            var pollSet = attackers.indices.map { i in
                pollfd(fd: cutOffAfter[i] < 0 ? attackers[i] : -1, events: Int16(POLLIN), revents: 0)
            }
            guard poll(&pollSet, nfds_t(pollSet.count), 20) > 0 else { continue }
            for i in pollSet.indices where pollSet[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { recv(attackers[i], $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    received[i] += chunk[0..<n]
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    cutOffAfter[i] = Date().timeIntervalSince(firstByteAt[i])
                    open -= 1
                }
            }
        }
        #expect(open == 0, "\(open) attackers still connected")
        let answered408 = received.filter { String(decoding: $0.prefix(13), as: UTF8.self) == "HTTP/1.1 408 " }.count
        #expect(answered408 == attackers.count, "\(answered408) of \(attackers.count) attackers got a 408")
        let early = cutOffAfter.filter { $0 >= 0 && $0 < 1.9 }.count
        // Trickling would take 30 s to complete a head; the cut-off comes at the 2 s head timeout
        // (observed here a little later: this client notices the close on its next poll round).
        let late = cutOffAfter.filter { $0 > 10 * Sanitizer.timingFactor }.count
        #expect(early == 0, "\(early) attackers cut off before the head timeout")
        #expect(late == 0, "\(late) attackers cut off more than 8 s after the head timeout")
        let sorted = cutOffAfter.sorted()
        let worstGood = goodLatencies.max() ?? 0
        #expect(goodLatencies.count >= 10)
        // The worst wait is the moment the attackers' head timeouts expire together: 5,000 408s in one
        // timer callback (about 0.2 s in a debug build; several seconds under ASan on a busy machine).
        #expect(worstGood < 3.0 * Sanitizer.timingFactor, "a well-behaved request waited \(worstGood) s")
        for fd in attackers { close(fd) }
        close(good)
        #expect(eventually(10) { server.connectionCount == 0 })
        #expect(eventually(5) { Sock.openSockets(onPort: port) == 0 }, "no socket left")
        server.stop()
        #expect(eventually(2) { server.hasReturned }, "serveForever() returned")
        return "slow-loris: 5000 attackers cut off after \(sorted[sorted.count / 2]) s (median), \(sorted.last ?? 0) s (max); "
            + "well-behaved: \(goodLatencies.count) requests, median \(goodLatencies.sorted()[goodLatencies.count / 2]) s, worst \(worstGood) s"
    }
}
