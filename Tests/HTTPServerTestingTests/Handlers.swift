import HTTPServerKit

/// The handlers the harness is tested with: the kind a user writes.

/// HTTP/1.1 keep-alive: `GET /hello`, `HEAD`, `POST` (echoes the body's size and text), and a few
/// paths that misbehave on purpose.
final class Greeter: BaseHTTPRequestHandler {
    struct Failure: Error {}
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        switch path {
        case "/throw":
            throw Failure()
        case "/log":
            logMessage("a line of my own")
            reply("logged")
        case "/big":
            reply(String(repeating: "x", count: 100_000))
        case "/bye":
            closeConnection = true
            reply("bye")
        default:
            reply("Hello, World!")
        }
    }

    override func doHEAD() throws {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
    }

    override func doPOST() throws {
        let body = rfile.read()
        reply("got \(body.count) bytes: \(String(decoding: body, as: UTF8.self))")
    }

    /// Refuses bodies over 1000 bytes before they are sent; otherwise Python's default (100 Continue).
    override func handleExpect100() -> Bool {
        if let length = Int(headers["Content-Length"] ?? ""), length > 1000 {
            sendError(417, message: "Too big")
            return false
        }
        return super.handleExpect100()
    }

    func reply(_ text: String) {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", String(text.utf8.count))
        endHeaders()
        wfile.write(text)
    }
}

/// Python's default HTTP/1.0: one request per connection.
final class Greeter10: BaseHTTPRequestHandler {
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Length", "2")
        endHeaders()
        wfile.write("hi")
    }
}

/// Answers with a chunked body and a trailer.
final class Chunker: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Transfer-Encoding", "chunked")
        sendHeader("Trailer", "X-Checksum")
        endHeaders()
        wfile.write("5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: 42\r\n\r\n")
    }
}

/// Streams the request body and answers with the number of pieces it came in: a handler whose
/// answer depends on how the bytes arrive, to show that split checks catch such a difference.
final class PieceCounter: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }
    var pieces = 0
    override func wantsStreamingBody() -> Bool { true }
    override func doPOST() throws {
        deferResponse()
        rfile.onData { [unowned self] _ in self.pieces += 1 }
        rfile.onEnd { [unowned self] _ in
            let text = "\(self.pieces) pieces"
            self.sendResponse(200)
            self.sendHeader("Content-Length", String(text.utf8.count))
            self.endHeaders()
            self.wfile.write(text)
            self.finishResponse()
        }
    }
}

/// A handler that takes an argument, made by a factory.
final class Named: BaseHTTPRequestHandler {
    let name: String
    init(name: String) {
        self.name = name
        super.init()
    }
    required init() {
        self.name = "nobody"
        super.init()
    }
    override var protocolVersion: String { "HTTP/1.1" }
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Length", String(name.utf8.count))
        endHeaders()
        wfile.write(name)
    }
}
