import Foundation
@testable import HTTPServerCore
import HTTPServerTesting
import Testing

/// `ThreadingHTTPServer`: what a handler on a worker sets up for a deferred response —
/// `rfile.onData` / `onEnd` and `whenClientCloses` — goes on on the reactor once it has returned,
/// as it does for the same handler on an `HTTPServer`. Fake sockets: the test's thread is the reactor.
@Suite(.serialized) struct WorkerDeferredCallbackTests {
    /// POST: defers, collects the body with `onData`, answers from `onEnd`; `/wait` first waits at
    /// `gate` (so that the body can arrive, or fill the buffer, before `onData` is set).
    /// GET: defers and watches for the client's close; `/answer` answers from the watcher.
    final class Deferring: BaseHTTPRequestHandler {
        nonisolated(unsafe) static var gate = Gate()
        nonisolated(unsafe) static var tally = Tally()
        override var protocolVersion: String { "HTTP/1.1" }
        override func wantsStreamingBody() -> Bool { true }
        override func doPOST() throws {
            Self.tally.noteThread()
            if path == "/wait" { Self.gate.pass() }
            var received = 0
            deferResponse()
            rfile.onData { received += $0.count }
            rfile.onEnd { [self] complete in
                Self.tally.add("ended")
                reply("\(received) \(complete)")
                finishResponse()
            }
            Self.tally.add("returned")
        }
        override func doGET() throws {
            deferResponse()
            whenClientCloses { [self] in
                Self.tally.add("sawClose")
                if path == "/answer" {
                    reply("bye")
                    finishResponse()
                }
            }
            Self.tally.add("returned")
        }
    }

    static func reset() {
        Deferring.gate = Gate(); Deferring.tally = Tally()
    }

    static func harness(bufferSize: Int = 64 * 1024) throws -> ThreadingHarness {
        var configuration = ServerConfiguration()
        configuration.workerBodyBufferSize = bufferSize
        return try ThreadingHarness(configuration: configuration) { Deferring() }
    }

    @Test func aBodyThatEndedBeforeTheWorkerReturnedIsAnsweredFromOnEnd() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /x HTTP/1.1\r\n")
        #expect(harness.run { Deferring.gate.waitingCount == 1 })
        Deferring.gate.open()
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        #expect(String(decoding: ThreadingHarness.responses(transport)[0].body, as: UTF8.self) == "10 true")
        #expect(Deferring.tally["ended"] == 1)
        #expect(!transport.isClosed)
    }

    @Test func aBodyLargerThanTheBufferReachesOnDataSetOnAWorkerAndOnEnd() throws {
        Self.reset()
        let harness = try Self.harness(bufferSize: 8 * 1024)
        let transport = harness.connect()
        let total = 64 * 1024
        transport.send("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: \(total)\r\n\r\n")
        #expect(harness.run { Deferring.gate.waitingCount == 1 })
        transport.send([UInt8](repeating: 1, count: total))
        #expect(transport.isReadingPaused)  // the buffer is full and nobody reads it yet
        Deferring.gate.open()
        #expect(harness.run { ThreadingHarness.responses(transport).count == 1 })
        #expect(String(decoding: ThreadingHarness.responses(transport)[0].body, as: UTF8.self) == "\(total) true")
        #expect(!transport.isReadingPaused)
    }

    @Test func whenClientClosesFromAWorkerIsCalledOnTheReactorWhenTheClientCloses() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("GET /answer HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Deferring.tally["returned"] == 1 })
        harness.idle(for: .milliseconds(10))  // `workerFinished` has run
        // Reading resumed, so that the client's end is seen.
        #expect(!transport.isReadingPaused)
        #expect(Deferring.tally["sawClose"] == 0)
        transport.sendEndOfInput()
        #expect(Deferring.tally["sawClose"] == 1)
        #expect(transport.isWriteShutdown || transport.isClosed)
        #expect(String(decoding: ThreadingHarness.responses(transport, atEOF: true).first?.body ?? [], as: UTF8.self) == "bye")
    }

    @Test func aPipelinedRequestEndsTheWatchWithoutACall() throws {
        Self.reset()
        let harness = try Self.harness()
        let transport = harness.connect()
        transport.send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Deferring.tally["returned"] == 1 })
        harness.idle(for: .milliseconds(10))
        transport.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(transport.isReadingPaused)  // held for the deferred response, as on the reactor
        transport.sendEndOfInput()
        #expect(Deferring.tally["sawClose"] == 0)
    }
}
