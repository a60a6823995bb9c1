import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerKit
import Testing

/// `ThreadingHTTPServer` over real sockets, serving on its own thread with handlers on workers.
@Suite(.serialized) struct ThreadingLoopbackTests {
    /// /sleep sleeps 50 ms; /throw throws; /big writes 8 MiB; anything else echoes the path.
    final class Blocking: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var tally = Tally()
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            Self.tally.add("running")
            defer { Self.tally.add("running", -1); Self.tally.add("returned") }
            switch path {
            case "/sleep":
                usleep(50_000)
                reply("slept")
            case "/together":
                // Waits (at most 5 s) until eight handlers run at once.
                Self.tally.add("arrived")
                for _ in 0..<5_000 where Self.tally["arrived"] < 8 { usleep(1_000) }
                reply("together")
            case "/slow":
                usleep(300_000)
                reply("slow")
            case "/throw":
                throw CocoaError(.fileNoSuchFile)
            case "/big":
                let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 64 * 1024)
                sendResponse(200)
                sendHeader("Content-Length", String(128 * chunk.count))
                endHeaders()
                for _ in 0..<128 {
                    wfile.write(chunk)
                    Self.tally.add("chunks")
                }
                if !isConnected { Self.tally.add("sawClose") }
            default:
                reply(path)
            }
        }
    }

    /// A `ThreadingHTTPServer` serving on a thread of its own.
    final class Serving: @unchecked Sendable {
        let server: ThreadingHTTPServer
        private let returned = ManagedAtomicFlag()

        init(_ configure: (inout ServerConfiguration) -> Void = { _ in },
             setUp: (ThreadingHTTPServer) -> Void = { _ in }) throws {
            Blocking.tally = Tally()
            var configuration = ServerConfiguration()
            configure(&configuration)
            server = try ThreadingHTTPServer(("127.0.0.1", 0), configuration: configuration,
                                             logDestination: .discard, handlerFactory: { Blocking() })
            setUp(server)
            let server = self.server
            let returned = self.returned
            Thread { try? server.serveForever(); returned.set() }.start()
        }

        var port: Int { server.serverPort }

        /// `activeRequestCount`, read on the loop thread.
        var activeRequestCount: Int {
            let server = self.server
            let result = Tally()
            let done = DispatchSemaphore(value: 0)
            server.loop?.execute {
                result.add("count", server.activeRequestCount)
                done.signal()
            }
            done.wait()
            return result["count"]
        }
        var hasReturned: Bool { returned.isSet }

        func stop() {
            server.shutdown()
            server.serverClose()
        }
    }

    static func get(_ path: String, close: Bool = false) -> String {
        "GET \(path) HTTP/1.1\r\nHost: x\r\n\(close ? "Connection: close\r\n" : "")\r\n"
    }

    @Test func blockingHandlersOnParallelConnectionsRunAtOnce() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fds = try (0..<8).map { _ in try Sock.connect(port: serving.port) }
        defer { fds.forEach { close($0) } }
        let start = Date()
        for fd in fds { Sock.send(fd, Self.get("/sleep")) }
        for fd in fds {
            let received = Sock.readResponse(fd)
            #expect(received.text.hasPrefix("HTTP/1.1 200"))
            #expect(received.text.hasSuffix("slept"))
        }
        let elapsed = Date().timeIntervalSince(start)
        // Eight 50 ms handlers one after another would take 400 ms.
        #expect(Blocking.tally.maximum("running") > 1)
        if !Sanitizer.isActive { #expect(elapsed < 0.25) }
    }

    @Test func eightBlockedHandlersRunOnEightThreadsAtOnce() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fds = try (0..<8).map { _ in try Sock.connect(port: serving.port) }
        defer { fds.forEach { close($0) } }
        for fd in fds { Sock.send(fd, Self.get("/together")) }
        for fd in fds { #expect(Sock.readResponse(fd, seconds: 10).text.hasSuffix("together")) }
        #expect(Blocking.tally.maximum("running") == 8)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        defer { close(fd) }
        Sock.send(fd, Self.get("/sleep") + Self.get("/a") + Self.get("/sleep") + Self.get("/b", close: true))
        let received = Sock.readToEnd(fd)
        let bodies = received.text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix { $0 != "H" } }
        #expect(bodies == ["slept", "/a", "slept", "/b"])
        #expect(received.isEOF)
        #expect(Blocking.tally.maximum("running") == 1)
    }

    @Test func aHandlerThatThrowsGets500() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        defer { close(fd) }
        Sock.send(fd, Self.get("/throw"))
        let received = Sock.readToEnd(fd)
        #expect(received.text.hasPrefix("HTTP/1.1 500"))
        #expect(received.isEOF)
    }

    @Test func aResetWhileTheWorkerRunsLeavesNothingBehind() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        Sock.send(fd, Self.get("/sleep"))
        #expect(eventually(5) { Blocking.tally["running"] == 1 })
        Sock.reset(fd)
        #expect(eventually(5) { Blocking.tally["returned"] == 1 && Sock.openSockets(onPort: serving.port) == 0 })
        #expect(eventually(5) { serving.activeRequestCount == 0 })
        // The server goes on serving.
        let other = try Sock.connect(port: serving.port)
        defer { close(other) }
        Sock.send(other, Self.get("/a"))
        #expect(Sock.readResponse(other).text.hasSuffix("/a"))
    }

    @Test func aClientThatStopsReadingHoldsTheWorkerUntilItReads() throws {
        let serving = try Serving { $0.outputHighWatermark = 256 * 1024 }
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        defer { close(fd) }
        Sock.send(fd, Self.get("/big"))
        // 8 MiB cannot fit the socket buffers and the queue: the worker waits.
        #expect(eventually(5) { Blocking.tally["chunks"] > 0 })
        usleep(300_000)
        let stalled = Blocking.tally["chunks"]
        #expect(stalled < 128)
        usleep(100_000)
        #expect(Blocking.tally["chunks"] == stalled)
        #expect(Blocking.tally["returned"] == 0)
        let received = Sock.read(fd, seconds: 20) { $0.count >= 128 * 64 * 1024 }
        #expect(received.bytes.count > 128 * 64 * 1024)
        #expect(eventually(5) { Blocking.tally["returned"] == 1 })
    }

    @Test func aWorkerWaitingOnAClientThatResetsIsReleased() throws {
        let serving = try Serving { $0.outputHighWatermark = 256 * 1024 }
        defer { serving.stop() }
        let fd = try Sock.connect(port: serving.port)
        Sock.send(fd, Self.get("/big"))
        #expect(eventually(5) { Blocking.tally["chunks"] > 0 })
        usleep(200_000)
        #expect(Blocking.tally["returned"] == 0)
        Sock.reset(fd)
        #expect(eventually(5) { Blocking.tally["returned"] == 1 })
        #expect(Blocking.tally["sawClose"] == 1)
        #expect(eventually(5) { Sock.openSockets(onPort: serving.port) == 0 })
    }

    @Test func shutdownAnswersTheRequestsWaitingForAThread() throws {
        let serving = try Serving { configuration in
            configuration.workerThreads = 1
            configuration.workerQueueLength = 0
        }
        let fds = try (0..<3).map { _ in try Sock.connect(port: serving.port) }
        defer { fds.forEach { close($0) } }
        for fd in fds { Sock.send(fd, Self.get("/sleep")) }
        #expect(eventually(5) { Blocking.tally["running"] == 1 })
        usleep(20_000)  // the other two requests wait for the one thread
        serving.stop()
        for fd in fds {
            let received = Sock.readToEnd(fd)
            #expect(received.text.hasPrefix("HTTP/1.1 200"))
            #expect(received.text.hasSuffix("slept"))
            #expect(received.isEOF)
        }
        #expect(Blocking.tally["returned"] == 3)
        #expect(Blocking.tally.maximum("running") == 1)
    }

    @Test func shutdownLetsRunningHandlersFinishAndServerCloseWaitsForThem() throws {
        let serving = try Serving { _ in } setUp: { server in
            server.daemonThreads = false
            server.blockOnClose = true
        }
        let fd = try Sock.connect(port: serving.port)
        defer { close(fd) }
        Sock.send(fd, Self.get("/slow"))
        #expect(eventually(5) { Blocking.tally["running"] == 1 })
        serving.stop()  // shutdown() from this thread, then serverClose()
        #expect(Blocking.tally["returned"] == 1)
        #expect(serving.hasReturned || eventually(1) { serving.hasReturned })
        let received = Sock.readToEnd(fd)
        #expect(received.text.hasPrefix("HTTP/1.1 200"))
        #expect(received.text.hasSuffix("slow"))
        #expect(received.isEOF)
    }
}
