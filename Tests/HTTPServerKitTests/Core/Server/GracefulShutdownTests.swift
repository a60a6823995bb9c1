import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite(.serialized) struct GracefulShutdownTests {
    final class SlowHandler: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        override func doGET() throws {
            guard path == "/slow" else {
                reply("fast")
                return
            }
            deferResponse()
            let loop = server.loop!
            let timer = HTTPServerReactor.Timer { [self] in
                reply("slow")
                finishResponse()
            }
            SlowHandler.timers.append(timer)
            loop.arm(timer, at: loop.now.advanced(by: .milliseconds(300)))
        }
        nonisolated(unsafe) static var timers: [HTTPServerReactor.Timer] = []
    }

    static func readAll(_ fd: Int32, timeout: Double = 5) -> (bytes: [UInt8], reset: Bool) {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { result += chunk[0..<n]; continue }
            return (result, n < 0 && errno == ECONNRESET)
        }
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func shutdownAnswersRequestsInFlightAndClosesIdleConnectionsCleanly() throws {
        let server = try HTTPServer(("127.0.0.1", 0), handler: SlowHandler.self, logDestination: .discard)
        let returned = ManagedAtomicFlag()
        let thread = Thread { try? server.serveForever(); returned.set() }
        thread.start()
        // An idle keep-alive connection, after one request.
        let idle = LoopbackTests.connect(port: server.serverPort)
        Self.send(idle, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(buffer.withUnsafeMutableBytes { read(idle, $0.baseAddress, $0.count) } > 0)
        // A request in flight.
        let busy = LoopbackTests.connect(port: server.serverPort)
        Self.send(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(50_000)
        let start = Date()
        server.shutdown()
        #expect(returned.isSet || Date().timeIntervalSince(start) < 5)
        let idleResult = Self.readAll(idle)
        #expect(idleResult.bytes.isEmpty)
        #expect(!idleResult.reset, "idle connection closed with FIN, not reset")
        let busyResult = Self.readAll(busy)
        let text = String(decoding: busyResult.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("Connection: close"))
        #expect(text.hasSuffix("slow"))
        #expect(!busyResult.reset)
        close(idle)
        close(busy)
        // A new connection is no longer served.
        server.serverClose()
        #expect(server.connectionCount == 0)
    }

    @Test func connectionLimitHoldsNewClientsInTheBacklogUntilOneCloses() throws {
        var configuration = ServerConfiguration()
        configuration.maxConnections = 2
        let server = try HTTPServer(("127.0.0.1", 0), handler: SlowHandler.self, configuration: configuration,
                                    logDestination: .discard)
        let thread = Thread { try? server.serveForever() }
        thread.start()
        defer { server.shutdown(); server.serverClose() }
        let a = LoopbackTests.connect(port: server.serverPort)
        let b = LoopbackTests.connect(port: server.serverPort)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for fd in [a, b] {
            Self.send(fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } > 0)
        }
        let c = LoopbackTests.connect(port: server.serverPort)
        Self.send(c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        var pollSet = [pollfd(fd: c, events: Int16(POLLIN), revents: 0)]
        #expect(poll(&pollSet, 1, 300) == 0, "the third client waits")
        close(a)
        #expect(poll(&pollSet, 1, 3000) == 1, "and is served once a connection closes")
        #expect(buffer.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) } > 0)
        close(b)
        close(c)
    }
}
