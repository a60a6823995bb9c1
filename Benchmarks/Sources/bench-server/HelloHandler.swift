import HTTPServerKit

/// `hello` mode: GET (any path) → 200 with the 13 bytes `Hello, World!`, Content-Length,
/// HTTP/1.1 keep-alive, no access log. POST and PUT read their body and answer the same.
final class HelloHandler: BaseHTTPRequestHandler {
    static let body: [UInt8] = Array("Hello, World!".utf8)

    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        sendHello()
    }

    override func doPOST() throws {
        _ = rfile.remaining  // the connection has already received the body; nothing to copy
        try doGET()
    }

    override func doPUT() throws { try doPOST() }

    override func logMessage(_ message: String) {}
}

extension BaseHTTPRequestHandler {
    /// The `hello` response: 200, `text/plain`, the 13 bytes `Hello, World!`.
    func sendHello() {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
        wfile.write(HelloHandler.body)
    }
}
