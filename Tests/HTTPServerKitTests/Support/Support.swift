import Foundation
import HTTPServerKit
import HTTPServerTesting
import Testing

/// A handler that answers every method with the request echoed as JSON, in the format of
/// shared/conformance/README.md ("echo mode").
final class EchoHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doMethod(_ command: String) throws {
        let body = EchoHandler.json(method: command, path: requestTarget, version: requestVersion,
                                    headers: headers.fields, trailers: trailers.fields, body: rfile.read())
        sendResponse(200)
        sendHeader("Content-Type", "application/json")
        sendHeader("Content-Length", String(body.count))
        if command == "HEAD" {
            sendHeader("Echo-B64", Data(body).base64EncodedString())
        }
        if closeConnection { sendHeader("Connection", "close") }
        endHeaders()
        wfile.write(body)
    }

    static func json(method: String, path: String, version: String, headers: [(name: String, value: String)],
                     trailers: [(name: String, value: String)], body: [UInt8]) -> [UInt8] {
        let object: [String: Any] = [
            "method": method, "path": path, "version": version,
            "headers": headers.map { [$0.name, $0.value] },
            "trailers": trailers.map { [$0.name, $0.value] },
            "body_b64": Data(body).base64EncodedString(),
        ]
        return Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

/// Hello, World! over HTTP/1.1 keep-alive.
final class HelloHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
        wfile.write("Hello, World!")
    }
}

/// Same, in Python's default HTTP/1.0 mode.
final class Hello10Handler: BaseHTTPRequestHandler {
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
        wfile.write("Hello, World!")
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The repository's `Tests/Fixtures` folder.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")
