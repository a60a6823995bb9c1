import HTTPServerKit
import HTTPServerTesting
import Testing

final class SmokeHello: BaseHTTPRequestHandler {
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Length", "2")
        endHeaders()
        wfile.write("hi")
    }
}

@Test func testClientServesAHandlerInThreeLines() throws {
    let client = TestClient(handler: SmokeHello.self)
    let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    #expect(response.status == 200)
    #expect(response.bodyText == "hi")
}
