import HTTPServerHTTP1
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite struct ConnectionTests {
    @Test func pipelinedRequestsAreAnsweredInOrderInOneWrite() throws {
        let client = TestClient(handler: EchoHandler.self)
        let request = (1...5).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        let responses = try client.sendRaw(bytes(request))
        #expect(responses.count == 5)
        for (i, response) in responses.enumerated() {
            #expect(response.bodyText.contains("\"path\":\"\\/\(i + 1)\"") || response.bodyText.contains("\"path\":\"/\(i + 1)\""))
        }
        // All five responses left in a single system call.
        #expect(client.transport.callCounts["write", default: 0] + client.transport.callCounts["writev", default: 0] == 1)
        #expect(!client.isClosedByServer)
    }

    @Test func requestSplitAcrossReadsAtEveryIndex() throws {
        let request = bytes("POST /upload?x=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 11\r\n\r\nhello world")
        let whole = try TestClient(handler: EchoHandler.self).sendRaw(request)
        #expect(whole.count == 1)
        for split in 1..<request.count {
            let client = TestClient(handler: EchoHandler.self)
            var responses = try client.sendRaw(Array(request[..<split]))
            #expect(responses.isEmpty)
            responses = try client.sendRaw(Array(request[split...]))
            #expect(responses.count == 1, "split at \(split)")
            #expect(responses.first?.body == whole.first?.body, "split at \(split)")
        }
        let client = TestClient(handler: EchoHandler.self)
        var all: [TestResponse] = []
        for byte in request { all += try client.sendRaw([byte]) }
        #expect(all.count == 1)
        #expect(all.first?.body == whole.first?.body)
    }

    final class BodyReader: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doPOST() throws {
            let length = Int(headers["Content-Length"] ?? "") ?? -1
            let body = rfile.read(length)
            let answer = "got \(body.count) bytes: \(String(decoding: body, as: UTF8.self))"
            sendResponse(200)
            sendHeader("Content-Length", String(answer.utf8.count))
            endHeaders()
            wfile.write(answer)
        }
    }

    @Test func postBodyByContentLengthAndChunked() throws {
        let client = TestClient(handler: BodyReader.self)
        let a = try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(a.bodyText == "got 5 bytes: hello")
        let b = try client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        // No Content-Length: Python's `rfile.read(-1)` reads everything that is left.
        #expect(b.bodyText == "got 11 bytes: hello world")
    }

    @Test func getWithBodyIsConsumedNotParsedAsNextRequest() throws {
        // CPython's static handler never reads a body, so the body becomes the next "request".
        let client = TestClient(handler: EchoHandler.self)
        let body = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        let responses = try client.sendRaw(bytes("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)GET /next HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 2)
        #expect(!responses[1].bodyText.contains("smuggled"))
        #expect(responses[1].bodyText.contains("next"))
    }

    // MARK: 100-continue

    @Test func expectContinueSendsInterimResponseBeforeReadingTheBody() throws {
        let client = TestClient(handler: BodyReader.self)
        var responses = try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
        #expect(responses.isEmpty)
        let interim = client.transport.written
        #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        responses = try client.sendRaw(bytes("data"))
        #expect(responses.count == 1)
        #expect(responses[0].interim.map(\.status) == [100])
        #expect(responses[0].bodyText == "got 4 bytes: data")
        #expect(!client.isClosedByServer)
    }

    final class RefusesBodies: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var posts = 0
        override func handleExpect100() -> Bool {
            sendError(417, message: "Too big")
            return false
        }
        override func doPOST() throws {
            RefusesBodies.posts += 1
        }
    }

    @Test func refusedExpectationSkipsTheBodyAndCloses() throws {
        let client = TestClient(handler: RefusesBodies.self)
        let responses = try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\nExpect: 100-continue\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 1)
        #expect(responses[0].status == 417)
        #expect(responses[0].interim.isEmpty)
        #expect(client.isClosedByServer)
        #expect(RefusesBodies.posts == 0)
    }

    @Test func expectContinueIgnoredInHTTP10Mode() throws {
        // Python asks handle_expect_100 only when protocol_version is HTTP/1.1.
        final class Body10: BaseHTTPRequestHandler {
            override func doPOST() throws {
                sendResponse(200)
                sendHeader("Content-Length", "0")
                endHeaders()
            }
        }
        let client = TestClient(handler: Body10.self)
        _ = try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"))
        #expect(client.transport.written.isEmpty)
        let responses = try client.sendRaw(bytes("ok"))
        #expect(responses.count == 1)
        #expect(responses[0].interim.isEmpty)
    }

    // MARK: Handlers that misbehave

    final class Thrower: BaseHTTPRequestHandler {
        struct Boom: Error {}
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            if path == "/late" {
                sendResponse(200)
                sendHeader("Content-Length", "100")
                endHeaders()
                wfile.write("partial")
            } else if path == "/half" {
                sendResponse(200)
                sendHeader("X-Half", "yes")
            }
            throw Boom()
        }
    }

    @Test func handlerThatThrowsBeforeSendingGets500() throws {
        let client = TestClient(handler: Thrower.self)
        let response = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 500)
        #expect(response.headers["Connection"] == "close")
        #expect(client.isClosedByServer)
    }

    @Test func handlerThatThrowsMidHeadGets500WithoutTheHalfHead() throws {
        let client = TestClient(handler: Thrower.self)
        let response = try client.send("GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 500)
        #expect(response.headers["X-Half"] == nil)
    }

    @Test func handlerThatThrowsAfterSendingClosesTheConnection() throws {
        let client = TestClient(handler: Thrower.self)
        client.transport.send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        let text = String(decoding: client.transport.written, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.hasSuffix("partial"))
        #expect(client.isClosedByServer)
    }

    final class Overwrites: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Content-Length", "3")
            endHeaders()
            wfile.write("abcdef")
        }
    }

    @Test func bodyLongerThanContentLengthIsCutAndTheConnectionCloses() throws {
        let client = TestClient(handler: Overwrites.self)
        let responses = try client.sendRaw(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 1)
        #expect(responses[0].bodyText == "abc")
        #expect(client.isClosedByServer)
        #expect(client.unparsedBytes.isEmpty)
    }

    final class Silent: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {}
    }

    @Test func handlerThatSendsNothingDoesNotLeaveTheClientHanging() throws {
        let client = TestClient(handler: Silent.self)
        client.transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.isClosedByServer)
        #expect(client.log.lines.contains { $0.contains("sent no response") })
    }

    final class Splitter: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("X-Evil", "a\r\nSet-Cookie: pwned=1")
            sendHeader("Content-Length", "0")
            endHeaders()
        }
    }

    @Test func headerWithLineBreakIsRefused() throws {
        let client = TestClient(handler: Splitter.self)
        let response = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.headers["Set-Cookie"] == nil)
        #expect(response.headers["X-Evil"] == nil)
        #expect(client.log.lines.contains { $0.contains("refused header") })
    }

    @Test func headRequestToHandlerThatWritesABodyGetsNoBody() throws {
        final class HeadWriter: BaseHTTPRequestHandler {
            override var protocolVersion: String { "HTTP/1.1" }
            override func doHEAD() throws {
                sendResponse(200)
                sendHeader("Content-Length", "5")
                endHeaders()
                wfile.write("hello")
            }
        }
        let client = TestClient(handler: HeadWriter.self)
        let responses = try client.sendRaw(bytes("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 2)
        #expect(responses.allSatisfy { $0.body.isEmpty && $0.headers["Content-Length"] == "5" })
        #expect(!client.isClosedByServer)
    }

    // MARK: Methods

    @Test func unsupportedMethodGets501AsInPython() throws {
        let client = TestClient(handler: HelloHandler.self)
        let response = try client.send("SPAM / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 501)
        #expect(response.bodyText.contains("Message: Unsupported method ('SPAM')."))
    }

    @Test func doMethodServesAnyToken() throws {
        let client = TestClient(handler: EchoHandler.self)
        let response = try client.send("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.bodyText.contains("\"method\":\"BREW\""))
    }

    // MARK: HTTP/0.9

    @Test func http09GetsTheBodyAlone() throws {
        let client = TestClient(handler: Hello10Handler.self)
        client.transport.send("GET /\r\n")
        #expect(String(decoding: client.transport.written, as: UTF8.self) == "Hello, World!")
        #expect(client.isClosedByServer)
    }

    // MARK: Logging

    @Test func accessLogLineInPythonFormat() throws {
        let client = TestClient(handler: HelloHandler.self)
        _ = try client.send("GET /x?y=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.log.lines.count == 1)
        let line = client.log.lines[0]
        #expect(line.hasPrefix("127.0.0.1 - - ["))
        #expect(line.hasSuffix("] \"GET /x?y=1 HTTP/1.1\" 200 -"))
    }

    @Test func controlCharactersInLoggedRequestLineAreEscaped() throws {
        let client = TestClient(handler: HelloHandler.self)
        _ = try client.sendRaw(bytes("GET /\u{1b}[31m HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(client.log.lines.allSatisfy { !$0.contains("\u{1b}") })
    }
}
