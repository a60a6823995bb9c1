import Foundation
import Glibc
import HTTPServerKit
import Testing

/// One reactor per core: several servers, each on its own thread with its own SO_REUSEPORT
/// listener on the same port, share the connections (docs/deployment.md).
@Suite(.serialized) struct ReusePortTests {
    final class WhichLoop: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            let body = "\(ObjectIdentifier(server).hashValue)"
            sendResponse(200)
            sendHeader("Content-Length", String(body.utf8.count))
            sendHeader("Connection", "close")
            endHeaders()
            wfile.write(body)
        }
    }

    @Test func serversSharingAPortEachServeConnections() throws {
        let first = try HTTPServer(("127.0.0.1", 0), handler: WhichLoop.self, logDestination: .discard, bindAndActivate: false)
        first.allowReusePort = true
        try first.serverBind()
        try first.serverActivate()
        let second = try HTTPServer(("127.0.0.1", first.serverPort), handler: WhichLoop.self, logDestination: .discard,
                                    bindAndActivate: false)
        second.allowReusePort = true
        try second.serverBind()
        try second.serverActivate()
        let servers = [first, second]
        for server in servers { Thread { try? server.serveForever() }.start() }
        defer { for server in servers { server.shutdown(); server.serverClose() } }

        var seen = Set<String>()
        for _ in 0..<64 {
            let fd = LoopbackTests.connect(port: first.serverPort)
            _ = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var response: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                response += chunk[0..<n]
            }
            close(fd)
            let text = String(decoding: response, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            if let body = text.components(separatedBy: "\r\n\r\n").last { seen.insert(body) }
        }
        // The kernel spreads connections over both listeners (by a hash of the client's port).
        #expect(seen.count == 2)
    }
}
