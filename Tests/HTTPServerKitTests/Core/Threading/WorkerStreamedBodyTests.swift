import Foundation
@testable import HTTPServerCore
import HTTPServerTesting
import Testing

/// `ThreadingHTTPServer` with a handler that streams its body (`wantsStreamingBody()`): it runs on a
/// worker, and its `rfile.read` / `readline` block the worker until the reactor has the bytes. Fake
/// sockets: the test's thread is the reactor.
@Suite(.serialized) struct WorkerStreamedBodyTests {
    /// What the handler read, piece by piece, in order (written on the worker).
    final class ReadLog: @unchecked Sendable {
        private let lock = NSLock()
        private var pieces: [[UInt8]] = []
        func append(_ piece: [UInt8]) { lock.lock(); pieces.append(piece); lock.unlock() }
        var all: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return pieces }
        var text: [String] { all.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// POST: reads the body (`/lines`: with `readline()`; otherwise `read(4096)`) and answers with
    /// what it read and whether the body arrived whole. `/wait…` waits at `gate` before reading,
    /// `…/hold` at `after` once it has read; `/skip` reads nothing. GET answers "next".
    final class Reader: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var gate = Gate()
        nonisolated(unsafe) static var after = Gate()
        nonisolated(unsafe) static var tally = Tally()
        nonisolated(unsafe) static var log = ReadLog()
        override var protocolVersion: String { "HTTP/1.1" }
        override func wantsStreamingBody() -> Bool { true }
        override func doPOST() throws {
            Self.tally.noteThread()
            Self.tally.add("started")
            defer { Self.tally.add("returned") }
            if path.hasPrefix("/wait") { Self.gate.pass() }
            var received: [UInt8] = []
            if path.hasPrefix("/lines") {
                while case let line = rfile.readline(), !line.isEmpty {
                    Self.log.append(line)
                    received += line
                    // The head stays readable while the reactor parses the body (ThreadSanitizer).
                    if requestTarget != "/lines" || header("host") != "x" || headers["Host"] != "x" { Self.tally.add("badHead") }
                }
            } else if !path.hasPrefix("/skip") {
                Self.tally.add("reading")
                while case let piece = rfile.read(4096), !piece.isEmpty {
                    Self.log.append(piece)
                    received += piece
                }
            }
            if rfile.isComplete { Self.tally.add("complete") }
            if path.hasSuffix("/hold") { Self.after.pass() }
            let answer = received + Array("|\(received.count)|complete=\(rfile.isComplete)".utf8)
            sendResponse(200)
            sendHeader("Content-Length", String(answer.count))
            endHeaders()
            wfile.write(answer)
        }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Content-Length", "4")
            endHeaders()
            wfile.write("next")
        }
        override func finish() { Self.tally.add("finish") }
    }

    static func reset() {
        Reader.gate = Gate(); Reader.after = Gate(); Reader.tally = Tally(); Reader.log = ReadLog()
    }

    static func harness(bufferSize: Int = 64 * 1024) throws -> ThreadingHarness {
        var configuration = ServerConfiguration()
        configuration.workerBodyBufferSize = bufferSize
        return try ThreadingHarness(configuration: configuration) { Reader() }
    }

    static func bodyText(_ response: TestResponse?) -> String {
        String(decoding: response?.body ?? [], as: UTF8.self)
    }

    @Test func aChunkedBodyTrickledByteByByteIsReadByTheWorkerAsItArrives() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /lines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        // The handler runs before any of the body has arrived, and the reactor goes on reading.
        #expect(harness.run { Reader.tally["started"] == 1 })
        #expect(!transport.isReadingPaused)
        let first = "6\r\nhello\n\r\n"
        for byte in first.utf8 { transport.send([byte]) }
        // The first line reached the worker before the rest of the body was sent.
        #expect(harness.run { Reader.log.all.count == 1 })
        #expect(Reader.log.text == ["hello\n"])
        #expect(Reader.tally["returned"] == 0)
        let rest = "3\r\nwor\r\n4\r\nld\nx\r\n0\r\n\r\n"
        for byte in rest.utf8 { transport.send([byte]) }
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        #expect(Reader.log.text == ["hello\n", "world\n", "x"])
        #expect(Reader.tally["badHead"] == 0)
        #expect(Self.bodyText(ThreadingHarness.responses(transport).first) == "hello\nworld\nx|13|complete=true")
        #expect(!Reader.tally.threadIDs.contains(UInt(pthread_self())))  // on a worker, not the reactor
        #expect(!transport.isClosed)
        #expect(!transport.isReadingPaused)
        #expect(harness.server.activeRequestCount == 0)
    }

    @Test func aBodyLargerThanTheBufferPausesReadingUntilTheWorkerReads() throws {
        Self.reset()
        let harness = try Self.harness(bufferSize: 16 * 1024)
        let transport = harness.connect()
        let total = 100 * 1024
        let body = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        transport.send("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: \(total)\r\n\r\n")
        #expect(harness.run { Reader.gate.waitingCount == 1 })
        let piece = 4 * 1024
        for start in stride(from: 0, to: total, by: piece) {
            transport.send(Array(body[start..<min(total, start + piece)]))
        }
        // The buffer filled: the reactor stopped reading, and the rest waits in the "socket".
        #expect(transport.isReadingPaused)
        let taken = total - transport.heldInput.count
        #expect(taken >= 16 * 1024)
        #expect(taken <= 16 * 1024 + piece)  // never more than the buffer and one read
        harness.idle(for: .milliseconds(20))
        #expect(transport.isReadingPaused)
        #expect(Reader.log.all.isEmpty)
        Reader.gate.open()
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        // Reading resumed (the held bytes were all taken), and every byte arrived in order.
        #expect(transport.heldInput.isEmpty)
        #expect(!transport.isReadingPaused)
        let read = Reader.log.all.flatMap { $0 }
        #expect(read == body)
        #expect(Self.bodyText(ThreadingHarness.responses(transport).first).hasSuffix("|\(total)|complete=true"))
        #expect(!transport.isClosed)
    }

    @Test func aResetWhileTheWorkerWaitsInReadEndsItsReadAndClosesTheConnection() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        #expect(harness.run { Reader.tally["reading"] == 1 })
        harness.idle(for: .milliseconds(20))
        // `read(4096)` waits, as on a blocking socket, for more than the 10 bytes here.
        #expect(Reader.log.all.isEmpty)
        #expect(Reader.tally["returned"] == 0)
        transport.reset()
        #expect(transport.isClosed)
        #expect(harness.server.connectionCount == 0)
        #expect(harness.run { harness.server.activeRequestCount == 0 })
        #expect(Reader.tally["returned"] == 1)
        #expect(Reader.tally["complete"] == 0)
        #expect(Reader.tally["finish"] == 1)
        #expect(Reader.log.text == ["0123456789"])
        #expect(transport.written.isEmpty)
    }

    @Test func aHalfCloseMidBodyEndsTheReadShortAndTheConnectionClosesAfterTheResponse() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n")
        #expect(harness.run { Reader.tally["reading"] == 1 })
        harness.idle(for: .milliseconds(20))
        #expect(Reader.log.all.isEmpty)
        transport.sendEndOfInput()
        #expect(harness.run { transport.isClosed || transport.isWriteShutdown })
        let responses = ThreadingHarness.responses(transport, atEOF: true)
        #expect(responses.count == 1)
        #expect(Self.bodyText(responses.first) == "abcde|5|complete=false")
        #expect(Reader.tally["returned"] == 1)
    }

    @Test func aBodyThatStopsArrivingTimesOutAndReleasesTheWorker() throws {
        Self.reset()
        let clock = ManualClock()
        var configuration = ServerConfiguration()
        configuration.bodyTimeout = .seconds(5)
        let server = try ThreadingHTTPServer(clock: clock, wallClock: { TestClient.defaultWallClock },
                                             configuration: configuration, logDestination: .discard,
                                             handlerFactory: { Reader() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        transport.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123")
        #expect(server.runPostedWork(timeout: .seconds(10)) { Reader.tally["reading"] == 1 })
        clock.advance(by: .seconds(6))
        #expect(transport.isClosed)
        #expect(server.runPostedWork(timeout: .seconds(10)) { server.activeRequestCount == 0 })
        #expect(Reader.tally["returned"] == 1)
        #expect(Reader.tally["complete"] == 0)
        #expect(Reader.log.text == ["0123"])  // the read ended short
    }

    @Test func aPipelinedRequestAfterAStreamedBodyWaitsForTheWorkerAndIsAnsweredInOrder() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /r/hold HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                       + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Reader.after.waitingCount == 1 })
        // The body was read whole; the next request is held, unparsed, and reading has stopped.
        #expect(Reader.log.text == ["abc"])
        #expect(transport.isReadingPaused)
        transport.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        harness.idle(for: .milliseconds(20))
        #expect(transport.written.isEmpty)
        Reader.after.open()
        #expect(harness.run { ThreadingHarness.responses(transport).count == 3 })
        let bodies = ThreadingHarness.responses(transport).map { Self.bodyText($0) }
        #expect(bodies == ["abc|3|complete=true", "next", "next"])
        #expect(!transport.isClosed)
    }

    @Test func aHandlerThatReturnsBeforeItsBodyHasArrivedClosesTheConnectionAfterItsResponse() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /skip HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        #expect(harness.run { transport.isWriteShutdown || transport.isClosed })
        let responses = ThreadingHarness.responses(transport, atEOF: true)
        #expect(responses.count == 1)
        #expect(Self.bodyText(responses.first) == "|0|complete=false")
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyAndTheWorkerReadsIt() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(String(decoding: transport.takeWritten(), as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(harness.run { Reader.tally["reading"] == 1 })
        transport.send("hello")
        // (The reader attaches the interim 100 to the final response.)
        #expect(harness.run { transport.untakenCount > 0 && ThreadingHarness.responses(transport).count == 1 })
        #expect(Self.bodyText(ThreadingHarness.responses(transport).first) == "hello|5|complete=true")
    }

    @Test func aGracefulCloseWhileTheWorkerReadsLetsTheBodyArriveAndClosesAfterTheResponse() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        #expect(harness.run { Reader.tally["reading"] == 1 })
        let connection = try #require(transport.delegate as? HTTPConnection)
        connection.closeGracefully()
        transport.send("def")
        #expect(harness.run { transport.isWriteShutdown || transport.isClosed })
        let responses = ThreadingHarness.responses(transport, atEOF: true)
        #expect(responses.count == 1)
        #expect(Self.bodyText(responses.first) == "abcdef|6|complete=true")
    }

    @Test func aMalformedChunkWhileTheWorkerReadsEndsTheReadShortAndClosesAfterTheResponse() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /lines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\n\n\r\n")
        #expect(harness.run { Reader.log.all.count == 2 })
        transport.send("zz\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")  // not a chunk size
        #expect(harness.run { transport.isWriteShutdown || transport.isClosed })
        let responses = ThreadingHarness.responses(transport, atEOF: true)
        #expect(responses.count == 1)  // nothing after the bad chunk is taken for a request
        #expect(Self.bodyText(responses.first) == "ab\n\n|4|complete=false")
    }

    /// The reactor's streaming style (`onData`, `onEnd`, `deferResponse()`), run on a worker.
    final class Callbacks: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var gate = Gate()
        nonisolated(unsafe) static var tally = Tally()
        override var protocolVersion: String { "HTTP/1.1" }
        override func wantsStreamingBody() -> Bool { true }
        override func doPOST() throws {
            var received: [UInt8] = []
            Self.gate.pass()  // part of the body arrives before `onData`, part after the return
            deferResponse()
            rfile.onData { received += Array($0) }
            rfile.onEnd { [self] complete in
                let answer = received + Array("|complete=\(complete)".utf8)
                sendResponse(200)
                sendHeader("Content-Length", String(answer.count))
                endHeaders()
                wfile.write(answer)
                finishResponse()
            }
            Self.tally.add("returned")
        }
    }

    @Test func onDataAndOnEndSetOnAWorkerGoOnOnTheReactorAfterItReturns() throws {
        Callbacks.gate = Gate(); Callbacks.tally = Tally()
        let harness = try ThreadingHarness { Callbacks() }
        let transport = harness.connect()
        transport.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        #expect(harness.run { Callbacks.gate.waitingCount == 1 })
        Callbacks.gate.open()
        #expect(harness.run { Callbacks.tally["returned"] == 1 })
        harness.idle(for: .milliseconds(20))
        #expect(transport.written.isEmpty)
        transport.send("56789GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        // `onEnd` answered on the reactor; the pipelined GET then went to a worker (501: no doGET).
        #expect(ThreadingHarness.responses(transport).count == 1)
        #expect(harness.run { ThreadingHarness.responses(transport).count == 2 })
        let responses = ThreadingHarness.responses(transport)
        #expect(Self.bodyText(responses.first) == "0123456789|complete=true")
        #expect(responses.last?.status == 501)
        #expect(!transport.isClosed)
    }
}
