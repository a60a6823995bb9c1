import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerKit
import Testing

/// A body streamed to a handler on a worker, over real sockets: larger than the body buffer and
/// the socket buffers, read slowly (the reactor pauses reading and resumes), then a pipelined
/// request; and a client that resets while the worker waits in `rfile.read`.
@Suite(.serialized) struct WorkerStreamedBodyLoopbackTests {
    /// POST: reads the body in 8 KiB pieces (pausing 1 ms now and then) and answers with its length
    /// and byte sum. GET: "next".
    final class Summer: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var tally = Tally()
        override var protocolVersion: String { "HTTP/1.1" }
        override func wantsStreamingBody() -> Bool { true }
        override func doPOST() throws {
            Self.tally.add("started")
            defer { Self.tally.add("returned") }
            var count = 0
            var sum = 0
            while case let piece = rfile.read(8192), !piece.isEmpty {
                Self.tally.add("pieces")
                count += piece.count
                for byte in piece { sum &+= Int(byte) }
                if count % (256 * 1024) < 8192 { usleep(1_000) }
            }
            reply("\(count) \(sum) \(rfile.isComplete)")
        }
        override func doGET() throws { reply("next") }
    }

    final class Serving: @unchecked Sendable {
        let server: ThreadingHTTPServer
        init() throws {
            Summer.tally = Tally()
            var configuration = ServerConfiguration()
            configuration.workerBodyBufferSize = 32 * 1024
            server = try ThreadingHTTPServer(("127.0.0.1", 0), configuration: configuration,
                                             logDestination: .discard, handlerFactory: { Summer() })
            let server = self.server
            Thread { try? server.serveForever() }.start()
        }
        var port: Int { server.serverPort }
        func stop() {
            server.shutdown()
            server.serverClose()
        }
    }

    @Test func aLargeBodyIsReadOnTheWorkerWithBackpressureThenThePipelinedRequestIsAnswered() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        defer { close(fd) }
        let total = 4 * 1024 * 1024
        let body = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sum = body.reduce(0) { $0 &+ Int($1) }
        // A blocking socket: the writes wait whenever the server stops reading.
        Sock.send(fd, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: \(total)\r\n\r\n")
        var sent = 0
        while sent < total {
            let n = body[sent..<min(total, sent + 65536)].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            sent += n
        }
        #expect(sent == total)
        Sock.send(fd, "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let received = Sock.readToEnd(fd, seconds: 20).text
        let first = "HTTP/1.1 200"
        #expect(received.hasPrefix(first))
        #expect(received.contains("\r\n\r\n\(total) \(sum) true"))
        #expect(received.hasSuffix("next"))
        #expect(Summer.tally["started"] == 1)
        #expect(Summer.tally["pieces"] >= total / 8192)
    }

    @Test func aResetWhileTheWorkerWaitsInReadReleasesItAndLeavesNoDescriptor() throws {
        let serving = try Serving()
        defer { serving.stop() }
        // A first request and its close, so that what the server opens once is open before counting.
        let warmUp = try Sock.connect(port: serving.port)
        Sock.send(warmUp, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(Sock.readToEnd(warmUp).text.hasSuffix("next"))
        close(warmUp)
        #expect(eventually(5) { Sock.openSockets(onPort: serving.port) == 0 })
        let before = Sock.openDescriptorCount()
        let fd = try Sock.connect(port: serving.port)
        Sock.send(fd, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + String(repeating: "a", count: 1000))
        #expect(eventually(5) { Summer.tally["started"] == 1 })
        usleep(20_000)
        #expect(Summer.tally["returned"] == 0)  // waiting in `rfile.read` for the rest
        Sock.reset(fd)
        #expect(eventually(5) { Summer.tally["returned"] == 1 })
        #expect(eventually(5) { Sock.openSockets(onPort: serving.port) == 0 })
        let after = Sock.openDescriptorCount()
        #expect(eventually(5) { Sock.openDescriptorCount() == before }, "descriptors: \(before) before, \(after) after")
        // The server goes on serving.
        let other = try Sock.connect(port: serving.port)
        defer { close(other) }
        Sock.send(other, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Sock.readResponse(other).text.hasSuffix("next"))
    }
}
