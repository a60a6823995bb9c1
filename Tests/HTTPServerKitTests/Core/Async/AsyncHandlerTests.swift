import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerTesting
import Testing

/// `AsyncHTTPRequestHandler` over fake sockets: the test's thread is the reactor and the tasks'
/// executor (it runs what was posted), so every step is deterministic.
@Suite(.serialized) struct AsyncHandlerTests {
    /// A value another thread sets, that a task awaits.
    final class Signal: @unchecked Sendable {
        private let lock = NSLock()
        private var value: String?
        private var waiters: [CheckedContinuation<String, any Error>] = []

        func wait() async throws -> String {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                if let value {
                    lock.unlock()
                    continuation.resume(returning: value)
                } else {
                    waiters.append(continuation)
                    lock.unlock()
                }
            }
        }

        func fire(_ text: String) {
            lock.lock()
            let waiters = self.waiters
            self.waiters = []
            value = text
            lock.unlock()
            for waiter in waiters { waiter.resume(returning: text) }
        }

        var isAwaited: Bool { lock.lock(); defer { lock.unlock() }; return !waiters.isEmpty }
    }

    final class Handler: AsyncHTTPRequestHandler {
        nonisolated(unsafe) static var signal = Signal()
        nonisolated(unsafe) static var tally = Tally()
        nonisolated(unsafe) static var reactorThread: pthread_t?
        override var protocolVersion: String { "HTTP/1.1" }

        override func doGET() async throws {
            Self.tally.add("started")
            switch path {
            case "/now":
                reply("now")
            case "/wait":
                let text = try await Self.signal.wait()
                Self.tally.add(pthread_equal(pthread_self(), Self.reactorThread!) != 0 ? "resumedOnReactor" : "resumedElsewhere")
                reply("waited \(text)")
            case "/sleep":
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    Self.tally.add("cancelled")
                    throw error
                }
                reply("slept")
            case "/throw-later":
                _ = try await Self.signal.wait()
                throw CocoaError(.fileNoSuchFile)
            case "/half-then-throw":
                sendResponse(200)
                sendHeader("Content-Length", "100")
                endHeaders()
                wfile.write("part")
                _ = try await Self.signal.wait()
                throw CocoaError(.fileNoSuchFile)
            case "/nap":
                do {
                    try await sleep(for: .seconds(1))
                } catch {
                    Self.tally.add("cancelled")
                    throw error
                }
                Self.tally.add(pthread_equal(pthread_self(), Self.reactorThread!) != 0 ? "resumedOnReactor" : "resumedElsewhere")
                reply("napped")
            case "/blocking":
                let reactor = pthread_self()
                let (worker, result) = try await blocking { (UInt(pthread_self()), 6 * 7) }
                Self.tally.add(worker != UInt(reactor) ? "blockedElsewhere" : "blockedOnReactor")
                Self.tally.add(pthread_equal(pthread_self(), reactor) != 0 ? "resumedOnReactor" : "resumedElsewhere")
                reply("answer \(result)")
            default:
                reply(path)
            }
        }

        override func doPOST() async throws {
            let body = rfile.read()
            _ = try await Self.signal.wait()
            reply("got \(body.count)")
        }


        override func finish() { Self.tally.add("finish") }
    }

    final class Harness {
        let server: HTTPServer
        let clock = ManualClock()
        init() throws {
            Handler.signal = Signal()
            Handler.tally = Tally()
            Handler.reactorThread = pthread_self()
            server = try HTTPServer(clock: clock, wallClock: { TestClient.defaultWallClock },
                                    logDestination: .discard, handlerFactory: { Handler() })
        }
        func connect() -> FakeTransport {
            let transport = FakeTransport()
            server.serveConnection(over: transport, peer: nil)
            return transport
        }
        @discardableResult
        func run(timeout: Duration = .seconds(10), until isDone: () -> Bool) -> Bool {
            server.runPostedWork(timeout: timeout, until: isDone)
        }
        static func responses(_ transport: FakeTransport) -> [TestResponse] {
            (try? ResponseReader.parse(transport.written, atEOF: false).responses) ?? []
        }
    }

    @Test func aHandlerThatNeverSuspendsIsAnsweredWithinTheRead() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        // No posted work has run: the task ran inline, on this (the reactor's) thread.
        let responses = Harness.responses(transport)
        #expect(responses.map(\.bodyText) == ["now", "/again"])
        #expect(!transport.isClosed)
    }

    @Test func aSuspendedHandlerResumesOnTheReactorAndPipelinedRequestsWaitTheirTurn() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Harness.responses(transport).isEmpty)
        #expect(Handler.signal.isAwaited)
        #expect(Handler.tally["started"] == 1)  // the second request waits, unparsed
        Thread { Handler.signal.fire("for you") }.start()
        #expect(harness.run { Harness.responses(transport).count == 2 })
        #expect(Harness.responses(transport).map(\.bodyText) == ["waited for you", "/next"])
        #expect(Handler.tally["resumedOnReactor"] == 1)
        #expect(Handler.tally["resumedElsewhere"] == 0)
        #expect(!transport.isClosed)
    }

    @Test func theBodyIsReadBeforeTheHandlerRunsAndTheResponseComesWhenTheTaskReturns() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        Handler.signal.fire("go")
        #expect(harness.run { Harness.responses(transport).count == 1 })
        #expect(Harness.responses(transport).first?.bodyText == "got 5")
    }

    @Test func aThrowAfterSuspendingWithNothingSentIsA500AndTheConnectionCloses() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /throw-later HTTP/1.1\r\nHost: x\r\n\r\n")
        Handler.signal.fire("x")
        #expect(harness.run { !Harness.responses(transport).isEmpty })
        #expect(Harness.responses(transport).first?.status == 500)
        #expect(harness.run { transport.isWriteShutdown })  // closing after the response
    }

    @Test func aThrowAfterPartOfTheResponseClosesTheConnection() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /half-then-throw HTTP/1.1\r\nHost: x\r\n\r\n")
        Handler.signal.fire("x")
        #expect(harness.run { transport.isClosed })
        let text = String(decoding: transport.written, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200"))
        #expect(text.hasSuffix("part"))
    }

    @Test func aClientThatResetsCancelsTheTask() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Handler.tally["started"] == 1)
        transport.reset()
        #expect(Handler.tally["finish"] == 1)
        #expect(harness.run { Handler.tally["cancelled"] == 1 })
        #expect(harness.server.connectionCount == 0)
    }

    @Test func aClientThatHalfClosesCancelsTheTask() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
        transport.sendEndOfInput()
        #expect(harness.run { Handler.tally["cancelled"] == 1 })
        #expect(harness.run { transport.isClosed })
        #expect(Harness.responses(transport).isEmpty)
    }

    @Test func blockingWorkRunsOnAWorkerThreadAndTheHandlerResumesOnTheReactor() throws {
        let harness = try Harness()
        defer { harness.server.serverClose() }
        let transport = harness.connect()
        transport.send("GET /blocking HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.run { Harness.responses(transport).count == 1 })
        #expect(Harness.responses(transport).first?.bodyText == "answer 42")
        #expect(Handler.tally["blockedElsewhere"] == 1)
        #expect(Handler.tally["resumedOnReactor"] == 1)
    }

    @Test func manyConnectionsWaitAtOnceAndEachIsAnswered() throws {
        let harness = try Harness()
        let transports = (0..<200).map { _ in harness.connect() }
        for transport in transports { transport.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n") }
        #expect(Handler.tally["started"] == 200)
        Handler.signal.fire("all")
        #expect(harness.run { transports.allSatisfy { Harness.responses($0).count == 1 } })
        #expect(transports.allSatisfy { Harness.responses($0).first?.bodyText == "waited all" })
    }

    @Test func sleepUsesTheReactorsTimersAndResumesInline() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /nap HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Harness.responses(transport).isEmpty)
        harness.clock.advance(by: .milliseconds(999))
        #expect(Harness.responses(transport).isEmpty)
        harness.clock.advance(by: .milliseconds(1))
        // Answered by the timer itself: nothing was posted, no other thread took part.
        #expect(Harness.responses(transport).map(\.bodyText) == ["napped"])
        #expect(Handler.tally["resumedOnReactor"] == 1)
    }

    @Test func aClientThatLeavesWakesASleepingHandlerWithCancellation() throws {
        let harness = try Harness()
        let transport = harness.connect()
        transport.send("GET /nap HTTP/1.1\r\nHost: x\r\n\r\n")
        transport.reset()
        #expect(harness.run { Handler.tally["cancelled"] == 1 })
        // The timer was disarmed: its deadline passing resumes nothing.
        harness.clock.advance(by: .seconds(2))
        #expect(Handler.tally["resumedOnReactor"] == 0)
        #expect(Handler.tally["cancelled"] == 1)
    }
}
