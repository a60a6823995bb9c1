import HTTPServerHTTP1
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite struct ErrorAndLimitTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var request: String
        var status: Int
        var message: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "bad request line", request: "GET\r\n\r\n", status: 400, message: "Bad request syntax ('GET')"),
        Case(name: "bad version", request: "GET / HTTP/x.y\r\n\r\n", status: 400, message: "Bad request version ('HTTP/x.y')"),
        Case(name: "HTTP/2.0", request: "GET / HTTP/2.0\r\n\r\n", status: 505, message: "Invalid HTTP version (2.0)"),
        Case(name: "0.9 POST", request: "POST /\r\n", status: 400, message: "Bad HTTP/0.9 request type ('POST')"),
        Case(name: "request line too long", request: "GET /" + String(repeating: "a", count: 70_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", status: 414, message: nil),
        Case(name: "header line too long", request: "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "b", count: 70_000) + "\r\n\r\n", status: 431, message: "Line too long"),
        Case(name: "too many headers", request: "GET / HTTP/1.1\r\nHost: x\r\n" + (0..<101).map { "X-\($0): v\r\n" }.joined() + "\r\n", status: 431, message: "Too many headers"),
        Case(name: "body too large", request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", status: 413, message: nil),
        Case(name: "unknown transfer coding", request: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501, message: nil),
        Case(name: "chunked not last", request: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400, message: nil),
        Case(name: "CL and TE", request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, message: nil),
        Case(name: "differing duplicate CL", request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", status: 400, message: nil),
        Case(name: "obs-fold", request: "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", status: 400, message: nil),
        Case(name: "space before colon", request: "GET / HTTP/1.1\r\nHost: x\r\nHost : x\r\n\r\n", status: 400, message: nil),
        Case(name: "bad chunk size", request: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400, message: nil),
    ]

    @Test(arguments: cases)
    func badRequestsGetTheRightStatusAndAClosedConnection(_ c: Case) throws {
        let client = TestClient(handler: EchoHandler.self)
        let responses = try client.sendRaw(bytes(c.request + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 1)
        let response = try #require(responses.first)
        #expect(response.status == c.status)
        #expect(response.version == "HTTP/1.1", "a proper status line, even for a malformed request line")
        #expect(response.headers["Connection"] == "close")
        #expect(response.headers["Content-Type"] == "text/html;charset=utf-8")
        #expect(Int(response.headers["Content-Length"] ?? "") == response.body.count)
        if let message = c.message {
            #expect(response.bodyText.contains("<p>Message: \(message).</p>"), "\(response.bodyText)")
        }
        #expect(client.isClosedByServer)
        #expect(!response.bodyText.contains("/after"))
    }

    @Test func limitsAreConfigurable() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxHeaderCount = 2
        configuration.limits.maxRequestLineLength = 32
        configuration.limits.maxBodySize = 4
        let tooMany = TestClient(handler: EchoHandler.self, configuration: configuration)
        #expect(try tooMany.send("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").status == 431)
        let tooLong = TestClient(handler: EchoHandler.self, configuration: configuration)
        #expect(try tooLong.send("GET /" + String(repeating: "x", count: 40) + " HTTP/1.1\r\nHost: x\r\n\r\n").status == 414)
        let tooBig = TestClient(handler: EchoHandler.self, configuration: configuration)
        #expect(try tooBig.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n").status == 413)
        let fits = TestClient(handler: EchoHandler.self, configuration: configuration)
        #expect(try fits.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd").status == 200)
    }

    @Test func headRequestErrorHasNoBody() throws {
        let client = TestClient(handler: HelloHandler.self)
        let response = try client.send("HEAD /missing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        #expect(response.status == 501)
        #expect(response.body.isEmpty)
        #expect(Int(response.headers["Content-Length"] ?? "") ?? 0 > 0)
    }

    @Test func errorStatusesWithoutBody() throws {
        final class NoBody: BaseHTTPRequestHandler {
            override func doGET() throws {
                sendError(HTTPStatus(Int(path.dropFirst()) ?? 500))
            }
        }
        for code in [204, 205, 304] {
            let client = TestClient(handler: NoBody.self)
            client.transport.send("GET /\(code) HTTP/1.0\r\n\r\n")
            let text = String(decoding: client.transport.written, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.0 \(code) "))
            #expect(!text.contains("Content-Length"))
            #expect(text.hasSuffix("\r\n\r\n"))
        }
    }

    @Test func incompleteRequestAtEndOfInputGets400() throws {
        let client = TestClient(handler: EchoHandler.self)
        _ = try client.sendRaw(bytes("GET / HTTP/1.1\r\nHost: x\r\n"))
        let responses = try client.sendEndOfInput()
        #expect(responses.first?.status == 400)
        #expect(client.transport.isClosed)
    }

    @Test func halfCloseAfterACompleteRequestStillGetsTheResponse() throws {
        let client = TestClient(handler: EchoHandler.self)
        client.transport.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        client.transport.sendEndOfInput()
        let responses = try client.collect()
        #expect(responses.count == 2)
        #expect(client.transport.isClosed)
    }

    @Test func resetClosesWithoutCrash() throws {
        let client = TestClient(handler: EchoHandler.self)
        _ = try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"))
        client.transport.reset()
        #expect(client.transport.isClosed)
        #expect(client.server.connectionCount == 0)
    }
}
