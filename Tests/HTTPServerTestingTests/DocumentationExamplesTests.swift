import HTTPServerKit
import HTTPServerTesting
import Testing
import XCTest

// The examples of docs/testing.md and of the DocC catalog, as they are written there: if they stop
// compiling or passing, the docs are wrong.

final class UploadHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        reply(200, "Hello, World!")
    }

    override func doHEAD() throws {
        try doGET()  // the server sends the head alone
    }

    override func doPOST() throws {
        let body = rfile.read()
        logMessage("stored \(body.count) bytes")
        reply(201, "stored \(body.count) bytes")
    }

    /// Refuses uploads over 1 MB before their body is sent; otherwise 100 Continue.
    override func handleExpect100() -> Bool {
        if let length = Int(headers["Content-Length"] ?? ""), length > 1_000_000 {
            sendError(413)
            return false
        }
        return super.handleExpect100()
    }

    func reply(_ code: Int, _ text: String) {
        sendResponse(HTTPStatus(code))
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", String(text.utf8.count))
        endHeaders()
        wfile.write(text)
    }
}

final class BigHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Length", "100000")
        endHeaders()
        wfile.write([UInt8](repeating: UInt8(ascii: "x"), count: 100_000))
    }
}

@Suite struct DocumentationExamplesTests {
    @Test func threeLines() throws {
        let client = TestClient(handler: UploadHandler.self)
        let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 200)
    }

    @Test func sendingRequests() throws {
        let client = TestClient(handler: UploadHandler.self)

        // Raw: the first response completed by these bytes.
        let hello = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")

        // Raw, several requests: every response they completed.
        let both = try client.sendRaw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")

        // Built: method, target, version, headers, body. `Host: localhost` is added to an HTTP/1.1
        // request without one, and the body is framed with Content-Length.
        let created = try client.send(.post("/upload", body: "hello", headers: [("Content-Type", "text/plain")]))

        // Chunked, in chunks of 4 bytes, with a trailer.
        var chunked = TestRequest.post("/upload", body: "hello world", framing: .chunked(size: 4))
        chunked.trailers = [("X-Checksum", "42")]
        let stored = try client.send(chunked)

        // Any method, version and header order.
        let old = try client.send(TestRequest("GET", "/hello", version: "HTTP/1.0", headers: [("Accept", "*/*")]))

        #expect(hello.status == 200)
        #expect(hello.headers.fields.map(\.name) == ["Server", "Date", "Content-Type", "Content-Length"])
        #expect(hello.bodyText == "Hello, World!")
        #expect(both.count == 2)
        #expect(created.status == 201)
        #expect(stored.bodyText == "stored 11 bytes")
        #expect(old.version == "HTTP/1.1" && client.isClosedByServer)
    }

    @Test func keepAlive() throws {
        let client = TestClient(handler: UploadHandler.self)
        for _ in 1...3 {
            #expect(try client.send(.get("/hello")).status == 200)
        }
        #expect(!client.isClosedByServer)   // one connection, one handler instance, three requests

        // Pipelined: answered in order, in one write.
        let responses = try client.send(pipelined: [.get("/a"), .head("/b"), .post("/c", body: "xyz")])
        #expect(responses.map(\.status) == [200, 200, 201])
        #expect(responses[1].body.isEmpty)  // the answer to HEAD

        // HTTP/1.0 without keep-alive: the server closes after the response.
        _ = try client.send(TestRequest("GET", "/", version: "HTTP/1.0"))
        #expect(client.isClosedByServer)
    }

    @Test func expectContinue() throws {
        let client = TestClient(handler: UploadHandler.self)
        let accepted = try client.send(.post("/upload", body: "hello", expectsContinue: true))
        #expect(accepted.interim.map(\.status) == [100])
        #expect(accepted.status == 201)

        // Too big: refused before the body is sent, and the connection closes.
        let big = TestRequest.post("/upload", body: [UInt8](repeating: 0, count: 2_000_000), expectsContinue: true)
        let refused = try client.send(big)
        #expect(refused.status == 413)
        #expect(refused.interim.isEmpty)
        #expect(client.isClosedByServer)
    }

    @Test func expectContinueStepByStep() throws {
        let client = TestClient(handler: UploadHandler.self)
        let none = try client.sendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        #expect(none.isEmpty)
        #expect(client.pendingInterim.map(\.status) == [100])   // sent before the body was read
        let response = try client.send("data")
        #expect(response.bodyText == "stored 4 bytes")
    }

    @Test func postBody() throws {
        let client = TestClient(handler: UploadHandler.self)
        #expect(try client.send(.post("/upload", body: "hello world")).bodyText == "stored 11 bytes")
        let chunked = TestRequest.post("/upload", body: "hello world", framing: .chunked(size: 3))
        #expect(try client.send(chunked).bodyText == "stored 11 bytes")

        // Beyond `maxBodySize`: 413, and the connection closes.
        var configuration = ServerConfiguration()
        configuration.limits.maxBodySize = 8
        let limited = TestClient(handler: UploadHandler.self, configuration: configuration)
        #expect(try limited.send(.post("/upload", body: "hello world")).status == 413)
    }

    @Test func delivery() throws {
        let client = TestClient(handler: UploadHandler.self)
        let request = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        #expect(try client.send(request, delivery: .byteByByte).status == 201)
        #expect(try client.send(request, delivery: .split(at: [10, 44])).status == 201)
    }

    @Test func everySplitAgrees() throws {
        let client = TestClient(handler: UploadHandler.self)
        let responses = try client.sendAtEverySplit("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                                    + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(responses.map(\.status) == [201, 200])
        // A request cut short on purpose: half-close after it (400 "Incomplete request").
        #expect(try client.sendAtEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc",
                                            endingInput: true).map(\.status) == [400])
    }

    @Test func timeouts() throws {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(10)
        configuration.bodyTimeout = .seconds(5)
        configuration.idleTimeout = .seconds(30)

        // Head: counted from its first byte; then 408 and close.
        let slowHead = TestClient(handler: UploadHandler.self, configuration: configuration)
        _ = try slowHead.sendRaw("GET /hello HTTP/1.1\r\nHost: x\r\n")
        #expect(try slowHead.advanceTime(by: .seconds(9)).isEmpty)
        #expect(try slowHead.advanceTime(by: .seconds(1)).map(\.status) == [408])
        #expect(slowHead.isClosedByServer)

        // Body: counted from the last read.
        let slowBody = TestClient(handler: UploadHandler.self, configuration: configuration)
        _ = try slowBody.sendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        try slowBody.advanceTime(by: .seconds(4))
        _ = try slowBody.sendRaw("def")                 // restarts the body timeout
        #expect(try slowBody.advanceTime(by: .seconds(4)).isEmpty)
        #expect(try slowBody.advanceTime(by: .seconds(1)).map(\.status) == [408])

        // Idle keep-alive: a quiet close, no response.
        let idle = TestClient(handler: UploadHandler.self, configuration: configuration)
        _ = try idle.send(.get("/hello"))
        #expect(try idle.advanceTime(by: .seconds(30)).isEmpty)
        #expect(try idle.serverState().isClosed)
    }

    @Test func slowReader() throws {
        let client = TestClient(handler: BigHandler.self)
        try client.stopReading(after: 1000)                 // the client takes 1000 bytes, then no more
        #expect(try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n").isEmpty)
        let state = try client.serverState()
        #expect(client.receivedBytes.count == 1000)         // a short write...
        #expect(state.isAwaitingWritable)                   // ...then EAGAIN: the server waits for EPOLLOUT
        #expect(state.queuedOutputBytes > 99_000)           // with the rest queued
        let responses = try client.resumeReading()          // read everything from now on
        #expect(responses.first?.body.count == 100_000)
        #expect(try client.serverState().queuedOutputBytes == 0)
    }

    @Test func log() throws {
        let client = TestClient(handler: UploadHandler.self)
        _ = try client.send(.post("/upload", body: "hi"))
        let lines = client.log.take()            // and forget them
        #expect(lines[0].hasSuffix("] stored 2 bytes"))
        #expect(lines[1].hasSuffix("] \"POST /upload HTTP/1.1\" 201 -"))
        #expect(!client.log.contains("Exception occurred"))
    }

    @Test(arguments: TestClient.Mode.allCases)
    func uploadWorksOverBothTransports(_ mode: TestClient.Mode) throws {
        let client = try TestClient(handler: UploadHandler.self, mode: mode)
        let response = try client.send(.post("/upload", body: "hello", expectsContinue: true))
        #expect(response.interim.map(\.status) == [100])
        #expect(response.bodyText == "stored 5 bytes")
        #expect(try client.send(.get("/hello")).status == 200)
        #expect(!client.isClosedByServer)
    }

    @Test func lowerDown() throws {
        let clock = ManualClock()
        let server = try HTTPServer(clock: clock, wallClock: { 0 }, logDestination: .discard,
                                    handlerFactory: { UploadHandler() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        transport.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")            // handled before send returns
        let (responses, _) = try ResponseReader.parse(transport.takeWritten(), atEOF: false)
        #expect(responses.first?.status == 200)
        transport.stopReading(after: 10)                         // the server's writes now hit a window
        clock.advance(by: .seconds(75))                          // the idle timeout fires
        #expect(transport.isClosed)
    }
}

final class UploadTests: XCTestCase {
    func testUpload() throws {
        let client = TestClient(handler: UploadHandler.self)
        let response = try client.send(.post("/upload", body: "hello"))
        XCTAssertEqual(response.status, 201)
        XCTAssertThrowsError(try TestClient(handler: UploadHandler.self, mode: .loopback).advanceTime(by: .seconds(1)))
    }
}
