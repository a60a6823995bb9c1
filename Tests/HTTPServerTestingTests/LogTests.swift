import HTTPServerKit
import HTTPServerTesting
import Testing

@Suite struct LogTests {
    @Test func accessLogAndHandlerLinesAreCaptured() throws {
        let client = TestClient(handler: Greeter.self)
        _ = try client.send(.get("/log"))
        let lines = client.log.take()
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("127.0.0.1 - - ["))
        #expect(lines[0].hasSuffix("] a line of my own"))
        #expect(lines[1].hasSuffix("] \"GET /log HTTP/1.1\" 200 -"))
        #expect(client.log.lines.isEmpty)
    }

    @Test func aHandlerThatThrowsIsReportedInTheLog() throws {
        let client = TestClient(handler: Greeter.self)
        let response = try client.send(.get("/throw"))
        #expect(response.status == 500)
        #expect(client.log.contains("Exception occurred during processing of request from ('127.0.0.1', 40000)"))
        #expect(client.log.contains("Failure()"))
        #expect(client.log.contains("\"GET /throw HTTP/1.1\" 500 -"))
    }

    @Test func serverComplaintsAreCaptured() throws {
        final class Silent: BaseHTTPRequestHandler {
            override var protocolVersion: String { "HTTP/1.1" }
            override func doGET() throws {}
        }
        let client = TestClient(handler: Silent.self)
        _ = try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.log.contains("handler sent no response"))
        #expect(client.isClosedByServer)
    }
}