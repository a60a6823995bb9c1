import HTTPServerKit
import HTTPServerTesting
import Testing

/// Sending raw bytes and built requests, and reading what comes back.
@Suite struct SendingTests {
    @Test func rawRequestGetsAParsedResponse() throws {
        let client = TestClient(handler: Greeter.self)
        let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.version == "HTTP/1.1")
        #expect(response.status == 200)
        #expect(response.reason == "OK")
        #expect(response.headers.fields.map(\.name) == ["Server", "Date", "Content-Type", "Content-Length"])
        #expect(response.headers["content-type"] == "text/plain")
        #expect(response.bodyText == "Hello, World!")
        #expect(response.interim.isEmpty)
        #expect(client.receivedBytes == response.raw)
        #expect(client.unparsedBytes.isEmpty)
        #expect(!client.isClosedByServer)
    }

    @Test func builtRequestCarriesHostAndFraming() throws {
        let request = TestRequest.post("/upload", body: "hello", headers: [("Content-Type", "text/plain")])
        #expect(String(decoding: request.bytes, as: UTF8.self)
            == "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        let client = TestClient(handler: Greeter.self)
        let response = try client.send(request)
        #expect(response.bodyText == "got 5 bytes: hello")
        #expect(client.requestsSent.map(\.method) == ["POST"])
        #expect(client.requestsSent.first?.target == "/upload")
        #expect(client.requestsSent.first?.isComplete == true)
    }

    @Test func chunkedRequestWithTrailers() throws {
        var request = TestRequest.post("/upload", body: "hello", framing: .chunked(size: 2))
        request.trailers = [("X-Sum", "5")]
        #expect(String(decoding: request.bodyBytes, as: UTF8.self) == "2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\nX-Sum: 5\r\n\r\n")
        #expect(String(decoding: request.headBytes, as: UTF8.self).contains("Transfer-Encoding: chunked\r\n"))
        let client = TestClient(handler: Greeter.self)
        #expect(try client.send(request).bodyText == "got 5 bytes: hello")
    }

    @Test func requestFromPartsWithoutHostOrFraming() {
        let request = TestRequest("GET", "/x", version: "HTTP/1.0", headers: [("A", "1"), ("A", "2")])
        #expect(String(decoding: request.bytes, as: UTF8.self) == "GET /x HTTP/1.0\r\nA: 1\r\nA: 2\r\n\r\n")
        var noHost = TestRequest.get("/")
        noHost.host = nil
        #expect(String(decoding: noHost.bytes, as: UTF8.self) == "GET / HTTP/1.1\r\n\r\n")
        #expect(String(decoding: TestRequest("GET", "/", version: "").bytes, as: UTF8.self) == "GET /\r\n")
        let emptyPost = TestRequest("POST", "/")
        #expect(String(decoding: emptyPost.headBytes, as: UTF8.self).hasSuffix("Content-Length: 0\r\n\r\n"))
    }

    @Test func pipelinedRequestsAnsweredInOrderAndHEADHasNoBody() throws {
        let client = TestClient(handler: Greeter.self)
        let responses = try client.send(pipelined: [.get("/a"), .head("/b"), .post("/c", body: "xyz"), .get("/d")])
        #expect(responses.map(\.status) == [200, 200, 200, 200])
        #expect(responses.map(\.bodyText) == ["Hello, World!", "", "got 3 bytes: xyz", "Hello, World!"])
        #expect(responses[1].headers["Content-Length"] == "13", "a HEAD answer keeps its length but has no body")
        #expect(client.responses.count == 4)
        #expect(client.transport.writeCallCount == 1, "pipelined answers leave in one write")
    }

    @Test func sendReturnsTheFirstResponseAndKeepsTheRestForCollect() throws {
        let client = TestClient(handler: Greeter.self)
        let first = try client.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(first.status == 200)
        let rest = try client.collect()
        #expect(rest.count == 1)
        #expect(try client.collect().isEmpty)
    }

    @Test func sendWithoutACompleteResponseThrowsNoResponse() throws {
        let client = TestClient(handler: Greeter.self)
        #expect {
            _ = try client.send("GET / HTTP/1.1\r\nHost: x\r\n")
        } throws: { error in
            (error as? TestClientError)?.kind == .noResponse && "\(error)".contains("the connection is open")
        }
    }

    @Test func headAnswerToAMalformedRequestKeepsItsErrorPage() throws {
        // The server knows the method of a request it refuses (Python's `command`), so a refused HEAD
        // gets no body either; the client reads it exactly, from what it sent.
        let client = TestClient(handler: Greeter.self)
        let refused = try client.send("HEAD /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        #expect(refused.status == 501)
        #expect(refused.body.isEmpty)
        #expect(client.requestsSent.first?.error?.status == 501)
        #expect(client.isClosedByServer)
        // A HEAD whose head is fine but whose body is cut short by the end of input gets a 400 page
        // with a body (the server no longer knows the method): the end of input tells.
        let cut = TestClient(handler: Greeter.self)
        _ = try cut.sendRaw("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        let responses = try cut.sendEndOfInput()
        #expect(responses.first?.status == 400)
        #expect(responses.first.map { !$0.body.isEmpty } == true)
    }

    @Test func http09ResponseHasNoStatusLine() throws {
        let client = TestClient(handler: Greeter10.self)
        let response = try client.send("GET /\r\n")
        #expect(response.version == "HTTP/0.9")
        #expect(response.status == 0)
        #expect(response.bodyText == "hi")
        #expect(client.isClosedByServer)
    }

    @Test func chunkedResponseIsDecodedWithTrailers() throws {
        let client = TestClient(handler: Chunker.self)
        let response = try client.send(.get("/"))
        #expect(response.bodyText == "hello, world")
        #expect(response.trailers["X-Checksum"] == "42")
    }

    @Test func handlerMadeByAFactory() throws {
        let client = TestClient { Named(name: "Ada") }
        #expect(try client.send(.get("/")).bodyText == "Ada")
    }

    @Test func severalConnectionsToOneServer() throws {
        let client = TestClient(handler: Greeter.self)
        let other = try client.openConnection()
        _ = try client.send(.get("/a"))
        _ = try other.send(.get("/b"))
        #expect(client.server.connectionCount == 2)
        #expect(client.log.lines.count == 2, "one log for the server")
        other.reset()
        #expect(client.server.connectionCount == 1)
    }
}
