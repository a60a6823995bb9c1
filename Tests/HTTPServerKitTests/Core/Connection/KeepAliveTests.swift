import HTTPServerKit
import HTTPServerTesting
import Testing

/// Keep-alive decided as Python decides it: the request's version, `protocol_version`, the
/// `Connection` header, and `close_connection` set by the handler.
@Suite struct KeepAliveTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var requestVersion: String
        var protocol11: Bool
        var connection: String?
        var keepsAlive: Bool
        var testDescription: String {
            "\(requestVersion) protocol=\(protocol11 ? "1.1" : "1.0") Connection=\(connection ?? "-") → \(keepsAlive ? "keep-alive" : "close")"
        }
    }

    static let matrix: [Case] = [
        Case(requestVersion: "HTTP/1.0", protocol11: false, connection: nil, keepsAlive: false),
        Case(requestVersion: "HTTP/1.0", protocol11: false, connection: "close", keepsAlive: false),
        Case(requestVersion: "HTTP/1.0", protocol11: false, connection: "keep-alive", keepsAlive: false),
        Case(requestVersion: "HTTP/1.1", protocol11: false, connection: nil, keepsAlive: false),
        Case(requestVersion: "HTTP/1.1", protocol11: false, connection: "close", keepsAlive: false),
        Case(requestVersion: "HTTP/1.1", protocol11: false, connection: "keep-alive", keepsAlive: false),
        Case(requestVersion: "HTTP/1.0", protocol11: true, connection: nil, keepsAlive: false),
        Case(requestVersion: "HTTP/1.0", protocol11: true, connection: "close", keepsAlive: false),
        Case(requestVersion: "HTTP/1.0", protocol11: true, connection: "keep-alive", keepsAlive: true),
        Case(requestVersion: "HTTP/1.1", protocol11: true, connection: nil, keepsAlive: true),
        Case(requestVersion: "HTTP/1.1", protocol11: true, connection: "close", keepsAlive: false),
        Case(requestVersion: "HTTP/1.1", protocol11: true, connection: "keep-alive", keepsAlive: true),
        Case(requestVersion: "HTTP/1.1", protocol11: true, connection: "Keep-Alive, Close", keepsAlive: false),
        Case(requestVersion: "HTTP/1.1", protocol11: true, connection: "CLOSE", keepsAlive: false),
    ]

    @Test(arguments: matrix)
    func keepAliveMatrix(_ c: Case) throws {
        let client = TestClient(handler: c.protocol11 ? HelloHandler.self : Hello10Handler.self)
        var request = "GET / \(c.requestVersion)\r\nHost: x\r\n"
        if let connection = c.connection { request += "Connection: \(connection)\r\n" }
        request += "\r\n"
        let response = try client.send(request)
        #expect(response.status == 200)
        #expect(response.bodyText == "Hello, World!")
        #expect(response.version == (c.protocol11 ? "HTTP/1.1" : "HTTP/1.0"))
        #expect(client.isClosedByServer == !c.keepsAlive)
        if c.keepsAlive {
            // The same handler instance answers the next request on the connection.
            let second = try client.send(request)
            #expect(second.status == 200)
        }
    }

    /// RFC 9112 §9.3 / RFC 2068 §19.7.1: an HTTP/1.0 connection persists only when the response
    /// says `Connection: keep-alive`, else an HTTP/1.0 client (ab -k) waits for the close. Said
    /// exactly when an HTTP/1.0 connection is kept open; never for HTTP/1.1, where it is the default.
    @Test(arguments: matrix)
    func keepAliveIsAnnouncedToHTTP10Clients(_ c: Case) throws {
        let client = TestClient(handler: c.protocol11 ? HelloHandler.self : Hello10Handler.self)
        var request = "GET / \(c.requestVersion)\r\nHost: x\r\n"
        if let connection = c.connection { request += "Connection: \(connection)\r\n" }
        request += "\r\n"
        let response = try client.send(request)
        let announced = response.headers.values(for: "Connection").contains { $0.lowercased() == "keep-alive" }
        #expect(announced == (c.keepsAlive && c.requestVersion == "HTTP/1.0"))
    }

    /// A handler that says `Connection` itself is not given a second one.
    @Test func aHandlersOwnConnectionHeaderIsNotRepeated() throws {
        let client = TestClient(handler: SaysKeepAlive.self)
        let response = try client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(response.headers.values(for: "Connection") == ["keep-alive"])
        #expect(!client.isClosedByServer)
    }

    final class SaysKeepAlive: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Connection", "keep-alive")
            sendHeader("Content-Length", "0")
            endHeaders()
        }
    }

    /// A connection that closes after its response either lingers (shuts its write side, reads what
    /// may still come) or, when the client itself said it closes and nothing is left unread, lets
    /// its last bytes leave with the FIN (`outputEndsStream`). A connection kept alive does neither:
    /// a held-back segment there would stall the response.
    @Test(arguments: matrix)
    func closingConnectionsEndTheStreamWithTheirOutput(_ c: Case) throws {
        let server = try HTTPServer(address: ("127.0.0.1", 0), configuration: ServerConfiguration(),
                                    logDestination: .discard, bindAndActivate: false, clock: ManualClock(),
                                    wallClock: { 1_795_000_000 },
                                    handlerFactory: { c.protocol11 ? HelloHandler() : Hello10Handler() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        var request = "GET / \(c.requestVersion)\r\nHost: x\r\n"
        if let connection = c.connection { request += "Connection: \(connection)\r\n" }
        transport.send(request + "\r\n")
        #expect(String(decoding: transport.written, as: UTF8.self).hasSuffix("Hello, World!"))
        if c.keepsAlive {
            #expect(!transport.isOutputEndingStream)
            #expect(!transport.isWriteShutdown && !transport.isClosed)
        } else {
            let clientSaidClose = c.connection?.lowercased().contains("close") ?? false
                || (c.requestVersion == "HTTP/1.0" && c.connection == nil)
            #expect(transport.isOutputEndingStream == clientSaidClose)
            #expect(transport.isClosed == clientSaidClose)
            #expect(transport.isWriteShutdown == !clientSaidClose)  // lingering
        }
    }

    final class CountingHandler: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        var served = 0
        override func doGET() throws {
            served += 1
            let body = "request \(served) on this handler"
            sendResponse(200)
            sendHeader("Content-Length", String(body.utf8.count))
            endHeaders()
            wfile.write(body)
        }
    }

    @Test func oneHandlerInstancePerConnection() throws {
        let client = TestClient(handler: CountingHandler.self)
        for i in 1...3 {
            let response = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.bodyText == "request \(i) on this handler")
        }
    }

    final class CloseHeaderHandler: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Content-Length", "0")
            sendHeader("Connection", "close")
            endHeaders()
        }
    }

    @Test func sendingConnectionCloseClosesAfterTheResponse() throws {
        let client = TestClient(handler: CloseHeaderHandler.self)
        let responses = try client.sendRaw(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.count == 1)
        #expect(client.isClosedByServer)
    }

    final class SetsCloseConnection: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(204)
            endHeaders()
            closeConnection = true
        }
    }

    @Test func closeConnectionSetByHandlerIsHonoured() throws {
        let client = TestClient(handler: SetsCloseConnection.self)
        let response = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 204)
        #expect(client.isClosedByServer)
    }

    final class Unframed: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            sendResponse(200)
            sendHeader("Content-Type", "text/plain")
            endHeaders()
            wfile.write("no length")
        }
    }

    @Test func unframedKeepAliveResponseClosesInsteadOfHanging() throws {
        let client = TestClient(handler: Unframed.self)
        client.transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let responses = try client.collect()
        #expect(responses.count == 1)
        #expect(responses.first?.headers["Connection"] == "close")
        #expect(responses.first?.bodyText == "no length")
        #expect(client.isClosedByServer)
    }

    @Test func http10RequestGetsHTTP10BehaviourAndCloses() throws {
        let client = TestClient(handler: Hello10Handler.self)
        let response = try client.send("GET / HTTP/1.0\r\n\r\n")
        #expect(response.version == "HTTP/1.0")
        #expect(response.headers["Server"]?.hasPrefix("BaseHTTP/0.6 Swift/") == true)
        #expect(response.headers["Date"] != nil)
        #expect(client.isClosedByServer)
    }
}
