import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerKit
import Testing

/// Async handlers and response streams over real sockets, each server kind serving on a thread
/// of its own.
@Suite(.serialized) struct AsyncLoopbackTests {
    /// /sleep awaits 50 ms; /blocking usleeps 50 ms on the worker pool; /events opens a stream.
    final class Handler: AsyncHTTPRequestHandler {
        nonisolated(unsafe) static var tally = Tally()
        nonisolated(unsafe) static var hub = StreamHub()
        override var protocolVersion: String { "HTTP/1.1" }

        override func doGET() async throws {
            Self.tally.add("running")
            defer { Self.tally.add("running", -1) }
            switch path {
            case "/sleep":
                try await Task.sleep(for: .milliseconds(50))
                reply("slept")
            case "/long":
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    Self.tally.add("cancelled")
                    throw error
                }
                reply("long")
            case "/blocking":
                let text = try await blocking { usleep(50_000); return "blocked" }
                reply(text)
            case "/events":
                sendResponse(200)
                sendHeader("Content-Type", "text/event-stream")
                sendHeader("Connection", "close")
                endHeaders()
                Self.hub.add(responseStream(limit: 64 * 1024))
            default:
                reply(path)
            }
        }

    }

    /// A server serving on a thread of its own.
    final class Serving: @unchecked Sendable {
        let server: HTTPServer
        private let returned = ManagedAtomicFlag()

        init(threading: Bool) throws {
            Handler.tally = Tally()
            Handler.hub = StreamHub()
            if threading {
                server = try ThreadingHTTPServer(("127.0.0.1", 0), logDestination: .discard, handlerFactory: { Handler() })
            } else {
                server = try HTTPServer(("127.0.0.1", 0), logDestination: .discard, handlerFactory: { Handler() })
            }
            let server = self.server
            let returned = self.returned
            Thread { try? server.serveForever(); returned.set() }.start()
        }

        var port: Int { server.serverPort }
        var hasReturned: Bool { returned.isSet }

        func stop() {
            server.shutdown()
            server.serverClose()
        }
    }

    static func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n" }

    @Test(arguments: [false, true])
    func awaitingHandlersOnManyConnectionsWaitTogether(threading: Bool) throws {
        let serving = try Serving(threading: threading)
        defer { serving.stop() }
        let fds = try (0..<50).map { _ in try Sock.connect(port: serving.port) }
        defer { fds.forEach { close($0) } }
        for fd in fds { Sock.send(fd, Self.get("/sleep")) }
        for fd in fds {
            let received = Sock.readResponse(fd)
            #expect(received.text.hasPrefix("HTTP/1.1 200"))
            #expect(received.text.hasSuffix("slept"))
        }
        // One reactor thread, and the fifty waited at once.
        #expect(Handler.tally.maximum("running") > 1)
        // Keep-alive: the connections serve again.
        Sock.send(fds[0], Self.get("/again"))
        #expect(Sock.readResponse(fds[0]).text.hasSuffix("/again"))
    }

    @Test(arguments: [false, true])
    func blockingWorkRunsOnTheWorkerPool(threading: Bool) throws {
        let serving = try Serving(threading: threading)
        defer { serving.stop() }
        let fds = try (0..<8).map { _ in try Sock.connect(port: serving.port) }
        defer { fds.forEach { close($0) } }
        for fd in fds { Sock.send(fd, Self.get("/blocking")) }
        for fd in fds { #expect(Sock.readResponse(fd).text.hasSuffix("blocked")) }
        #expect(Handler.tally.maximum("running") > 1)
    }

    @Test func aClientThatLeavesCancelsItsTaskAndTheOthersAreServed() throws {
        let serving = try Serving(threading: false)
        defer { serving.stop() }
        let leaving = try Sock.connect(port: serving.port)
        Sock.send(leaving, Self.get("/long"))
        let other = try Sock.connect(port: serving.port)
        defer { close(other) }
        Sock.send(other, Self.get("/quick"))
        #expect(Sock.readResponse(other).text.hasSuffix("/quick"))
        Sock.reset(leaving)
        for _ in 0..<500 where Handler.tally["cancelled"] == 0 { usleep(10_000) }
        #expect(Handler.tally["cancelled"] == 1)
    }

    /// A producer thread broadcasts to 25 real clients, 5 of which never read: those are dropped
    /// when their queue (64 KiB, after the kernel's socket buffers, up to 4 MiB here) fills, and
    /// every reader gets every event (6.5 MiB each).
    @Test func aProducerThreadBroadcastsToRealClientsAndDropsTheOnesThatDoNotRead() throws {
        let serving = try Serving(threading: false)
        defer { serving.stop() }
        let readers = try (0..<20).map { _ in try Sock.connect(port: serving.port) }
        let stalled = try (0..<5).map { _ -> Int32 in
            let fd = try Sock.connect(port: serving.port)
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        defer { (readers + stalled).forEach { close($0) } }
        for fd in stalled + readers { Sock.send(fd, Self.get("/events")) }
        for _ in 0..<500 where Handler.hub.streams.count < 25 { usleep(10_000) }
        #expect(Handler.hub.streams.count == 25)
        let event = Array("data: \(String(repeating: "x", count: 16 * 1024))\n\n".utf8)
        let events = 400
        // Readers drain on their own threads while the producer writes.
        let received = Tally()
        let readerThreads = readers.map { fd in
            Thread {
                let got = Sock.read(fd, seconds: 30) { bytes in
                    bytes.count >= events * event.count
                }
                received.add("bytes", got.bytes.count)
            }
        }
        readerThreads.forEach { $0.start() }
        var dropped = 0
        for _ in 0..<events {
            for stream in Handler.hub.streams {
                var result = stream.write(event)
                // A reader may be briefly behind: wait for it; a client that never reads is dropped.
                var tries = 0
                while result == .full && tries < 200 {
                    usleep(1_000)
                    tries += 1
                    result = stream.write(event)
                }
                if result == .full {
                    stream.abort()
                    dropped += 1
                }
            }
        }
        for _ in 0..<3_000 where received["bytes"] < 20 * events * event.count { usleep(10_000) }
        #expect(dropped == 5)
        // Each reader got the head plus every event.
        #expect(received["bytes"] >= 20 * events * event.count)
        for _ in 0..<500 where Handler.hub.closed < 5 { usleep(10_000) }
        #expect(Handler.hub.closed == 5)
    }
}
