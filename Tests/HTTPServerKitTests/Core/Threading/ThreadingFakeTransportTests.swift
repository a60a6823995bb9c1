import Foundation
@testable import HTTPServerCore
import HTTPServerTesting
import Testing

/// `ThreadingHTTPServer` over fake sockets: the test's thread is the reactor (it runs what the
/// workers post), and the handlers run on the pool's threads.
@Suite(.serialized) struct ThreadingFakeTransportTests {
    /// Answers with the path; waits at `gate` for paths that start with /wait.
    final class Echo: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var gate = Gate()
        nonisolated(unsafe) static var tally = Tally()
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            Self.tally.noteThread()
            Self.tally.add("running")
            defer { Self.tally.add("running", -1); Self.tally.add("returned") }
            if path.hasPrefix("/wait") { Self.gate.pass() }
            if path == "/throw" { throw CocoaError(.fileNoSuchFile) }
            let body = Array("path=\(path) agent=\(header("User-Agent") ?? "-")".utf8)
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
        }
        override func finish() { Self.tally.add("finish") }
    }

    /// Writes `chunks` × 16 KiB, counting each write; waits at `gate` first for /wait.
    final class Big: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var gate = Gate()
        nonisolated(unsafe) static var tally = Tally()
        static let chunks = 16
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            defer { Self.tally.add("returned") }
            let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 16 * 1024)
            sendResponse(200)
            sendHeader("Content-Length", String(Self.chunks * chunk.count))
            endHeaders()
            for _ in 0..<Self.chunks {
                wfile.write(chunk)
                Self.tally.add("written")
            }
            if !isConnected { Self.tally.add("sawClose") }
        }
    }

    static func reset() {
        Echo.gate = Gate(); Echo.tally = Tally()
        Big.gate = Gate(); Big.tally = Tally()
    }

    @Test func theHandlerRunsOnAWorkerAndItsResponseIsWrittenByTheReactor() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n")
        #expect(transport.isReadingPaused)  // the reactor stops reading while the worker runs
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        let response = try #require(ThreadingHarness.responses(transport).first)
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "path=/a agent=t")
        #expect(!Echo.tally.threadIDs.contains(UInt(pthread_self())))
        #expect(!transport.isReadingPaused)
        #expect(!transport.isClosed)
        #expect(harness.server.activeRequestCount == 0)
    }

    @Test func pipelinedRequestsWaitForTheWorkerAndAreAnsweredInOrder() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /wait1 HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        transport.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n")  // held: reading is paused
        #expect(harness.run { Echo.gate.waitingCount == 1 })
        harness.idle(for: .milliseconds(20))
        #expect(transport.written.isEmpty)
        #expect(Echo.tally["returned"] == 0)
        Echo.gate.open()
        #expect(harness.run { ThreadingHarness.responses(transport).count == 3 })
        let paths = ThreadingHarness.responses(transport).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(paths == ["path=/wait1 agent=-", "path=/b agent=-", "path=/c agent=-"])
        #expect(Echo.tally.maximum("running") == 1)  // one request of a connection at a time
    }

    @Test func aResetWhileTheWorkerRunsDropsItsResponse() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Echo.gate.waitingCount == 1 })
        transport.reset()
        #expect(transport.isClosed)
        #expect(harness.server.connectionCount == 0)
        #expect(Echo.tally["finish"] == 0)  // the handler is the worker's until it returns
        Echo.gate.open()
        #expect(harness.run { harness.server.activeRequestCount == 0 })
        #expect(Echo.tally["finish"] == 1)
        #expect(Echo.tally["returned"] == 1)  // the pipelined request is never run
        #expect(transport.written.isEmpty)
    }

    @Test func aHandlerThatThrowsOnAWorkerGets500AndTheConnectionCloses() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { ThreadingHarness.responses(transport, atEOF: true).count == 1 && transport.isWriteShutdown })
        #expect(ThreadingHarness.responses(transport, atEOF: true).first?.status == 500)
    }

    @Test func aWorkerPastTheHighWaterMarkWaitsUntilTheClientReads() throws {
        Self.reset()
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 64 * 1024
        let harness = try ThreadingHarness(configuration: configuration) { Big() }
        let transport = harness.connect()
        transport.stopReading(after: 0)
        transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        // The head and 4 × 16 KiB pass the mark: the fourth write waits for the reactor, which
        // cannot write.
        #expect(harness.run { Big.tally["written"] == 3 && transport.isAwaitingWritable })
        harness.idle(for: .milliseconds(50))
        #expect(Big.tally["written"] == 3)
        #expect(Big.tally["returned"] == 0)
        transport.resumeReading(Int?.none)  // the peer reads again
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        #expect(ThreadingHarness.responses(transport).first?.body.count == Big.chunks * 16 * 1024)
        #expect(Big.tally["returned"] == 1)
        #expect(!transport.isClosed)
    }

    @Test func aWorkerWaitingOnAConnectionThatClosesGoesOn() throws {
        Self.reset()
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 64 * 1024
        let harness = try ThreadingHarness(configuration: configuration) { Big() }
        let transport = harness.connect()
        transport.stopReading(after: 0)
        transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Big.tally["written"] == 3 && transport.isAwaitingWritable })
        transport.reset()
        #expect(harness.run { harness.server.activeRequestCount == 0 })
        #expect(Big.tally["returned"] == 1)
        #expect(Big.tally["sawClose"] == 1)  // `isConnected` is false on the worker
        #expect(harness.server.connectionCount == 0)
    }

    @Test func aFullQueueLeavesConnectionsUnreadUntilThereIsRoom() throws {
        Self.reset()
        var configuration = ServerConfiguration()
        configuration.workerThreads = 1
        configuration.workerQueueLength = 1
        let harness = try ThreadingHarness(configuration: configuration) { Echo() }
        let transports = (0..<4).map { _ in harness.connect() }
        for (i, transport) in transports.enumerated() {
            transport.send("GET /wait\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        #expect(harness.run { Echo.gate.waitingCount == 1 })
        // One running, one in the pool's queue, two waiting on the reactor; none is read.
        #expect(harness.server.workers.pool.queuedCount == 1)
        #expect(harness.server.workers.waitingCount == 2)
        #expect(transports.allSatisfy { $0.isReadingPaused })
        Echo.gate.open()
        #expect(harness.run { transports.allSatisfy { ThreadingHarness.responses($0).count == 1 } })
        #expect(harness.server.activeRequestCount == 0)
        #expect(Echo.tally.threadIDs.count == 1)
    }

    @Test func aHalfCloseWhileTheWorkerRunsStillGetsTheResponse() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Echo.gate.waitingCount == 1 })
        transport.sendEndOfInput()
        Echo.gate.open()
        #expect(harness.run { transport.isClosed })
        #expect(ThreadingHarness.responses(transport, atEOF: true).map(\.status) == [200])
    }

    @Test func aGracefulCloseWhileTheWorkerRunsClosesAfterItsResponse() throws {
        Self.reset()
        let harness = try ThreadingHarness { Echo() }
        let transport = harness.connect()
        transport.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Echo.gate.waitingCount == 1 })
        let connection = try #require(transport.delegate as? HTTPConnection)
        connection.closeGracefully()
        Echo.gate.open()
        #expect(harness.run { transport.isWriteShutdown || transport.isClosed })
        #expect(ThreadingHarness.responses(transport, atEOF: true).map(\.status) == [200])
    }
}
