import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import Testing

/// The same scenarios over the in-memory transport and over a real loopback socket: the answers,
/// the connection's fate and the log must agree.
@Suite(.serialized) struct LoopbackAgreementTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var handler: BaseHTTPRequestHandler.Type
        var run: @Sendable (TestClient) throws -> [TestResponse]
        var testDescription: String { name }
    }

    /// What a scenario produced, for comparison.
    struct Outcome {
        var responses: [TestResponse]
        var isClosed: Bool
        var pendingInterim: [Int]
        /// Log lines without their time.
        var log: [String]
    }

    static func outcome(of scenario: Scenario, mode: TestClient.Mode) throws -> Outcome {
        let client = try TestClient(handler: scenario.handler, mode: mode)
        let responses = try scenario.run(client)
        let log = client.log.lines.map { line in
            // Times and client ports differ.
            if let from = line.firstRange(of: "request from (") { return String(line[..<from.upperBound]) }
            return line.firstIndex(of: "]").map { String(line[line.index(after: $0)...]) } ?? line
        }
        return Outcome(responses: responses, isClosed: client.isClosedByServer,
                       pendingInterim: client.pendingInterim.map(\.status), log: log)
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "keep-alive", handler: Greeter.self) { client in
            [try client.send(.get("/one")), try client.send(.get("/two")), try client.send(.head("/three"))]
        },
        Scenario(name: "pipelining", handler: Greeter.self) { client in
            try client.send(pipelined: [.get("/a"), .head("/b"), .post("/c", body: "xyz"), .get("/bye"), .get("/unanswered")])
        },
        Scenario(name: "100-continue", handler: Greeter.self) { client in
            [try client.send(.post("/upload", body: "hello", expectsContinue: true))]
        },
        Scenario(name: "100-continue refused", handler: Greeter.self) { client in
            let big = [UInt8](repeating: 65, count: 5000)
            return [try client.send(.post("/upload", body: big, expectsContinue: true))]
        },
        Scenario(name: "100-continue by hand", handler: Greeter.self) { client in
            var responses = try client.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            guard client.pendingInterim.map(\.status) == [100] else { return responses }
            responses += try client.sendRaw("data")
            return responses
        },
        Scenario(name: "POST bodies", handler: Greeter.self) { client in
            [try client.send(.post("/cl", body: "hello world")),
             try client.send(.post("/chunked", body: "hello world", framing: .chunked(size: 4))),
             try client.send(.post("/empty", body: ""))]
        },
        Scenario(name: "bad request line", handler: Greeter.self) { client in
            try client.sendRaw("GARBAGE\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        },
        Scenario(name: "too many headers", handler: Greeter.self) { client in
            try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<101).map { "X-\($0): v\r\n" }.joined() + "\r\n")
        },
        Scenario(name: "body too large", handler: Greeter.self) { client in
            try client.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nabc")
        },
        Scenario(name: "unsupported method", handler: Greeter.self) { client in
            [try client.send("SPAM / HTTP/1.1\r\nHost: x\r\n\r\n")]
        },
        Scenario(name: "handler throws", handler: Greeter.self) { client in
            [try client.send(.get("/throw"))]
        },
        Scenario(name: "HTTP/1.0 closes", handler: Greeter10.self) { client in
            [try client.send(.get("/"))]
        },
        Scenario(name: "half-close mid-request", handler: Greeter.self) { client in
            try client.sendRaw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
                + client.sendEndOfInput()
        },
        Scenario(name: "chunked response", handler: Chunker.self) { client in
            [try client.send(.get("/"))]
        },
    ]

    @Test(arguments: scenarios)
    func fakeAndRealAgree(_ scenario: Scenario) throws {
        let fake = try Self.outcome(of: scenario, mode: .inMemory)
        let real = try Self.outcome(of: scenario, mode: .loopback)
        #expect(fake.responses.count == real.responses.count)
        for (a, b) in zip(fake.responses, real.responses) {
            #expect(a.matches(b), "in memory:\n\(a.headText)\nloopback:\n\(b.headText)")
        }
        #expect(!fake.responses.isEmpty)
        #expect(fake.isClosed == real.isClosed)
        #expect(fake.pendingInterim == real.pendingInterim)
        #expect(fake.log == real.log)
    }

    @Test func timeAndTheServerSideAreUnavailableOverLoopback() throws {
        let client = try TestClient(handler: Greeter.self, mode: .loopback)
        #expect(client.mode == .loopback)
        #expect(client.server.loop != nil && client.server.serverPort > 0, "a real server on a real port")
        for call in [{ _ = try client.advanceTime(by: .seconds(1)) }, { _ = try client.serverState() },
                     { try client.stopReading(after: 10) }, { _ = try client.resumeReading(10) }] {
            #expect {
                try call()
            } throws: { error in
                (error as? TestClientError)?.kind == .unsupportedInLoopback
            }
        }
        #expect(try client.send(.get("/")).status == 200, "and the client still works")
    }

    @Test func loopbackPeerControl() throws {
        let client = try TestClient(handler: Greeter.self, mode: .loopback)
        try client.stopReading()
        _ = try client.sendRaw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.responses.isEmpty, "nothing is read while the client does not read")
        let responses = try client.resumeReading()
        #expect(responses.first?.body.count == 100_000)
        let other = try client.openConnection()
        _ = try other.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        other.reset()
        #expect(try client.send(.get("/")).status == 200, "a reset of one client does not disturb another")
    }

    @Test(arguments: TestClient.Mode.allCases)
    func sendingAfterTheServerClosedGetsNoResponse(_ mode: TestClient.Mode) throws {
        let client = try TestClient(handler: Greeter.self, mode: mode)
        #expect(try client.send(.get("/bye")).bodyText == "bye")
        #expect(client.isClosedByServer, "the handler set closeConnection: the server closes, silently")
        for _ in 0..<3 {
            #expect {
                _ = try client.send(.get("/again"))
            } throws: { error in
                (error as? TestClientError)?.kind == .noResponse
            }
        }
    }

    @Test func aLoopbackClientLeavesNothingBehind() throws {
        weak var server: HTTPServer?
        weak var loop: EventLoop?
        do {
            let client = try TestClient(handler: Greeter.self, mode: .loopback)
            let other = try client.openConnection()
            _ = try client.send(.get("/"))
            _ = try other.send(.get("/"))
            server = client.server
            loop = client.server.loop
        }
        // Released with its last client: the server stopped, its thread joined, its loop (epoll
        // and eventfd descriptors) freed.
        #expect(server == nil)
        #expect(loop == nil)
    }

    @Test func everySplitOverLoopback() throws {
        let client = try TestClient(handler: Greeter.self, mode: .loopback)
        let responses = try client.sendAtEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        #expect(responses.map(\.bodyText) == ["got 2 bytes: ok"])
    }
}
