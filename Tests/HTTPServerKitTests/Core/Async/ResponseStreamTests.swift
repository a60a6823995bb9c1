import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerTesting
import Testing

/// `ResponseStream` over fake sockets: producers on other threads write, the test's thread is
/// the reactor (it runs what was posted).
@Suite(.serialized) struct ResponseStreamTests {
    /// Streams the response to /events (close-delimited) and hands the stream to `hub`; /sized
    /// says a Content-Length of 10 and keeps the connection; /worker (ThreadingHTTPServer) writes
    /// one event before returning from its worker.
    final class Events: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var hub = StreamHub()
        nonisolated(unsafe) static var limit = 64 * 1024
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Content-Type", "text/event-stream")
            if path == "/sized" {
                sendHeader("Content-Length", "10")
            } else {
                sendHeader("Connection", "close")
            }
            endHeaders()
            wfile.write("")
            let stream = responseStream(limit: Self.limit)
            if path == "/worker" { stream.write("data: from the worker\n\n") }
            Self.hub.add(stream)
        }
    }

    final class Harness {
        let server: HTTPServer
        init(threading: Bool = false, limit: Int = 64 * 1024) throws {
            Events.hub = StreamHub()
            Events.limit = limit
            if threading {
                server = try ThreadingHTTPServer(clock: ManualClock(), wallClock: { TestClient.defaultWallClock },
                                                 logDestination: .discard, handlerFactory: { Events() })
            } else {
                server = try HTTPServer(clock: ManualClock(), wallClock: { TestClient.defaultWallClock },
                                        logDestination: .discard, handlerFactory: { Events() })
            }
        }
        func connect(_ path: String = "/events") -> FakeTransport {
            let transport = FakeTransport()
            server.serveConnection(over: transport, peer: nil)
            transport.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            return transport
        }
        @discardableResult
        func run(timeout: Duration = .seconds(10), until isDone: () -> Bool) -> Bool {
            server.runPostedWork(timeout: timeout, until: isDone)
        }
        /// Runs posted work until the producer thread is done and its work has been run.
        func produce(_ body: @escaping @Sendable () -> Void) {
            let done = DoneFlag()
            Thread { body(); done.set() }.start()
            run { done.isSet }
            run(timeout: .milliseconds(50)) { false }
        }
    }

    final class DoneFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    static func body(_ transport: FakeTransport) -> String {
        let text = String(decoding: transport.written, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return "" }
        return String(text[end.upperBound...])
    }

    @Test func anotherThreadWritesTheResponseInOrderAndFinishesIt() throws {
        let harness = try Harness()
        let transport = harness.connect()
        #expect(String(decoding: transport.written, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        let stream = try #require(Events.hub.streams.first)
        harness.produce {
            for index in 0..<100 { #expect(stream.write("data: \(index)\n\n") == .queued) }
            stream.finish()
            #expect(stream.write("late") == .closed)
        }
        #expect(harness.run { transport.isWriteShutdown })
        #expect(Self.body(transport) == (0..<100).map { "data: \($0)\n\n" }.joined())
        #expect(Events.hub.closed == 1)
    }

    @Test func writesBeforeTheReactorRunsLeaveInOneBatch() throws {
        let harness = try Harness()
        let transport = harness.connect()
        let stream = try #require(Events.hub.streams.first)
        let writesBefore = transport.writeCallCount
        let done = DoneFlag()
        Thread {
            for _ in 0..<1_000 { stream.write("data: x\n\n") }
            done.set()
        }.start()
        while !done.isSet { usleep(1_000) }
        harness.run(timeout: .milliseconds(100)) { false }
        // 1,000 writes, one wake-up: one delivery, one write to the socket.
        #expect(transport.writeCallCount - writesBefore == 1)
        #expect(Self.body(transport).count == 1_000 * 9)
    }

    @Test func aFinishedResponseLetsTheConnectionServeTheNextRequest() throws {
        let harness = try Harness()
        let transport = harness.connect("/sized")
        let stream = try #require(Events.hub.streams.first)
        harness.produce {
            stream.write("0123456789")
            stream.finish()
        }
        transport.send("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Events.hub.streams.count == 2)
        #expect(!transport.isClosed && !transport.isWriteShutdown)
    }

    @Test func aClientThatStopsReadingFillsItsQueueAndIsRefusedNotBuffered() throws {
        let harness = try Harness(limit: 16 * 1024)
        let transport = harness.connect()
        transport.stopReading(after: 0)
        let stream = try #require(Events.hub.streams.first)
        let event = [UInt8](repeating: UInt8(ascii: "e"), count: 1_000)
        var results: [ResponseStream.WriteResult] = []
        for _ in 0..<100 {
            results.append(stream.write(event))
            harness.run(timeout: .milliseconds(2)) { false }
        }
        let firstQueued = results.prefix(16).allSatisfy { $0 == .queued }
        #expect(firstQueued)
        #expect(results.contains(.full))
        #expect(stream.queuedCount <= 16 * 1024)
        // The client reads again: room comes back.
        transport.resumeReading(1 << 30)
        harness.run(timeout: .milliseconds(20)) { false }
        #expect(stream.queuedCount == 0)
        #expect(stream.write(event) == .queued)
    }

    @Test func abortClosesTheConnectionAndTellsTheStream() throws {
        let harness = try Harness()
        let transport = harness.connect()
        let stream = try #require(Events.hub.streams.first)
        harness.produce { stream.abort() }
        #expect(transport.isClosed)
        #expect(Events.hub.closed == 1)
        #expect(stream.write("x") == .closed)
        #expect(harness.server.connectionCount == 0)
    }

    @Test func aClientThatLeavesEndsTheStream() throws {
        let harness = try Harness()
        let reset = harness.connect()
        let halfClosed = harness.connect()
        reset.reset()
        halfClosed.sendEndOfInput()
        #expect(harness.run { Events.hub.closed == 2 })
        #expect(halfClosed.isClosed || halfClosed.isWriteShutdown)
        let refused = Events.hub.streams.allSatisfy { $0.write("x") == .closed }
        #expect(refused)
        #expect(harness.server.connectionCount == 0)
    }

    @Test func aHandlerOnAWorkerHandsItsStreamToTheReactorWhenItReturns() throws {
        let harness = try Harness(threading: true)
        defer { harness.server.serverClose() }
        let transport = harness.connect("/worker")
        #expect(harness.run { Events.hub.streams.count == 1 && Self.body(transport) == "data: from the worker\n\n" })
        let stream = try #require(Events.hub.streams.first)
        harness.produce {
            stream.write("data: later\n\n")
            stream.finish()
        }
        #expect(harness.run { transport.isWriteShutdown })
        #expect(Self.body(transport) == "data: from the worker\n\ndata: later\n\n")
    }

    /// One producer thread, 10,000 open responses, 100 of whose clients stop reading: the
    /// producer drops each slow client when its queue is full; every other client gets every event.
    @Test func oneProducerBroadcastsToTenThousandStreamsAndDropsTheSlowOnes() throws {
        let harness = try Harness(limit: 8 * 1024)
        let transports = (0..<10_000).map { _ in harness.connect() }
        for transport in transports.prefix(100) { transport.stopReading(after: 0) }
        #expect(Events.hub.streams.count == 10_000)
        for transport in transports { _ = transport.takeWritten() }
        let events = 20
        let dropped = DoneFlag()
        let droppedCount = Counter()
        harness.produce {
            for index in 0..<events {
                let event = Array("data: \(index) \(String(repeating: "x", count: 500))\n\n".utf8)
                for stream in Events.hub.streams where stream.write(event) == .full {
                    stream.abort()
                    droppedCount.add()
                }
                usleep(2_000)
            }
            dropped.set()
        }
        harness.run { Events.hub.closed == 100 }
        #expect(droppedCount.value == 100)
        #expect(Events.hub.closed == 100)
        let slowOnesClosed = transports.prefix(100).allSatisfy { $0.isClosed }
        #expect(slowOnesClosed)
        let expected = (0..<events).map { "data: \($0) \(String(repeating: "x", count: 500))\n\n" }.joined()
        let readers = transports.dropFirst(100)
        let everyReaderGotEverything = readers.allSatisfy { String(decoding: $0.takeWritten(), as: UTF8.self) == expected }
        #expect(everyReaderGotEverything)
        #expect(harness.server.connectionCount == 9_900)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.lock(); count += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    }
}
