import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// The rest of Python's `socketserver.BaseServer` interface in reactor form: the request hooks,
/// `verifyRequest`, `handleRequest` with `timeout` and `handleTimeout`, `serviceActions` and
/// `serveForever(pollInterval:)`, `fileno()`. Over the fake transport and over loopback sockets.
@Suite(.serialized) struct SocketServerTests {
    /// A server that records each hook it is called through, and refuses what `refuses` says.
    final class RecordingServer: HTTPServer, @unchecked Sendable {
        var calls: [String] = []
        /// Set by the test while the server thread reads it: kept in a locked box.
        var refuses: (SocketAddress?) -> Bool {
            get { refusal.value }
            set { refusal.value = newValue }
        }
        private let refusal = Box<(SocketAddress?) -> Bool>({ _ in false })
        var timeouts = 0
        var serviceCalls = 0

        override func verifyRequest(_ request: Transport, clientAddress: SocketAddress?) -> Bool {
            calls.append("verify")
            return !refuses(clientAddress)
        }
        override func processRequest(_ request: Transport, clientAddress: SocketAddress?) {
            calls.append("process")
            super.processRequest(request, clientAddress: clientAddress)
        }
        override func finishRequest(_ request: Transport, clientAddress: SocketAddress?) {
            calls.append("finish")
            super.finishRequest(request, clientAddress: clientAddress)
        }
        override func shutdownRequest(_ request: Transport) {
            calls.append("shutdown")
            super.shutdownRequest(request)
        }
        override func closeRequest(_ request: Transport) {
            calls.append("close")
            super.closeRequest(request)
        }
        override func handleTimeout() { timeouts += 1 }
        override func serviceActions() { serviceCalls += 1 }
    }

    static func inMemory() throws -> RecordingServer {
        try RecordingServer(address: ("127.0.0.1", 0), configuration: ServerConfiguration(), logDestination: .discard,
                            bindAndActivate: false, clock: ManualClock(), wallClock: { 1_795_000_000 },
                            handlerFactory: { HelloHandler() })
    }

    static func loopback() throws -> RecordingServer {
        try RecordingServer(address: ("127.0.0.1", 0), configuration: ServerConfiguration(), logDestination: .discard,
                            bindAndActivate: true, clock: nil, wallClock: { Int64(time(nil)) },
                            handlerFactory: { HelloHandler() })
    }

    // MARK: Fake transport

    @Test func aVerifiedConnectionGoesThroughProcessAndFinishAndIsClosedThroughCloseRequest() throws {
        let server = try Self.inMemory()
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        #expect(server.calls == ["verify", "process", "finish"])
        transport.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(String(decoding: transport.written, as: UTF8.self).hasSuffix("Hello, World!"))
        #expect(server.calls == ["verify", "process", "finish", "close"])
        #expect(server.connectionCount == 0)
    }

    @Test func aRefusedConnectionIsShutDownBeforeAnyByteIsRead() throws {
        let server = try Self.inMemory()
        server.refuses = { _ in true }
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        #expect(server.calls == ["verify", "shutdown", "close"])
        #expect(transport.isClosed)
        #expect(transport.delegate == nil)  // no connection reads from it
        transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(transport.written.isEmpty)
        #expect(server.connectionCount == 0)
    }

    @Test func fileNumberOfAServerWithoutASocketIsMinusOne() throws {
        #expect(try Self.inMemory().fileno() == -1)
    }

    // MARK: Loopback

    static func exchange(_ port: Int, _ request: String) -> String {
        let fd = LoopbackTests.connect(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = Array(request.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func verifyRequestRefusesByClientAddressOverLoopback() throws {
        let server = try Self.loopback()
        server.refuses = { $0?.host == "127.0.0.1" }
        let thread = Thread { try? server.serveForever() }
        thread.start()
        defer { server.shutdown(); server.serverClose() }
        #expect(Self.exchange(server.serverPort, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == "")
        server.refuses = { _ in false }
        #expect(Self.exchange(server.serverPort, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .hasSuffix("Hello, World!"))
    }

    @Test func handleRequestReturnsOnceOneRequestIsAnswered() throws {
        let server = try Self.loopback()
        server.timeout = .seconds(10)
        let port = server.serverPort
        let answers = Box<[String]>([])
        let client = Thread {
            let first = Self.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let second = Self.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answers.value = [first, second]
        }
        client.start()
        let started = Date()
        try server.handleRequest()
        try server.handleRequest()
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.timeouts == 0)
        // Let the second connection's close reach the server.
        server.timeout = .milliseconds(200)
        try server.handleRequest()
        while answers.value.isEmpty { usleep(1000) }
        #expect(answers.value.allSatisfy { $0.hasSuffix("Hello, World!") })
        server.serverClose()
    }

    /// A request answered with an error (here 400, no Host) counts as answered.
    @Test func handleRequestReturnsOnceABadRequestIsAnswered() throws {
        let server = try Self.loopback()
        server.timeout = .seconds(10)
        let port = server.serverPort
        let answer = Box("")
        let client = Thread { answer.value = Self.exchange(port, "GET / HTTP/1.1\r\n\r\n") }
        client.start()
        let started = Date()
        try server.handleRequest()
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.timeouts == 0)
        server.timeout = .milliseconds(200)
        try server.handleRequest()  // the close
        while answer.value.isEmpty { usleep(1000) }
        #expect(answer.value.hasPrefix("HTTP/1.1 400"))
        server.serverClose()
    }

    @Test func handleRequestCallsHandleTimeoutWhenNoRequestComes() throws {
        let server = try Self.loopback()
        defer { server.serverClose() }
        server.timeout = .milliseconds(100)
        let started = Date()
        try server.handleRequest()
        let elapsed = Date().timeIntervalSince(started)
        #expect(server.timeouts == 1)
        #expect(elapsed >= 0.09 && elapsed < 3)
    }

    @Test func serveForeverCallsServiceActionsEveryPollInterval() throws {
        let server = try Self.loopback()
        let thread = Thread { try? server.serveForever(pollInterval: .milliseconds(20)) }
        thread.start()
        usleep(300_000)
        server.shutdown()
        server.serverClose()
        #expect(server.serviceCalls >= 5)
        #expect(server.serviceCalls <= 20)
    }

    @Test func fileNumberIsTheListeningSocket() throws {
        let server = try Self.loopback()
        let fd = server.fileno()
        #expect(fd >= 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        #expect(result == 0)
        #expect(Int(UInt16(bigEndian: address.sin_port)) == server.serverPort)
        server.serverClose()
        #expect(server.fileno() == -1)
    }
}

/// A value shared by a test and a server or client thread (locked: TSan clean).
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
