import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

/// Error pages byte for byte as CPython renders them: the same `send_error` calls made by a
/// CPython handler (over a socket) and by ours (over the fake transport).
@Suite(.serialized) struct ErrorPageTests {
    final class ErrorHandler: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            let parts = path.split(separator: "?", maxSplits: 1)
            let code = Int(parts[0].dropFirst()) ?? 500
            let args = parts.count > 1 ? parts[1].split(separator: "&").map { $0.removingPercentEncoding ?? String($0) } : []
            sendError(HTTPStatus(code), message: args.count > 0 ? args[0] : nil, explain: args.count > 1 ? args[1] : nil)
        }
        override func doHEAD() throws { try doGET() }
    }

    static let requests = [
        "GET /404 HTTP/1.1", "GET /400 HTTP/1.1", "GET /500 HTTP/1.1", "GET /501 HTTP/1.1", "GET /418 HTTP/1.1",
        "GET /599 HTTP/1.1", "GET /404?Gone%20%3Cb%3Ebold%3C/b%3E HTTP/1.1",
        "GET /403?No&Because%20%26%20%22why%22 HTTP/1.1", "HEAD /404 HTTP/1.1", "GET /204 HTTP/1.1",
        "GET /304 HTTP/1.1", "GET /100 HTTP/1.1",
    ]

    static func pythonResponse(port: Int, request: String) throws -> [UInt8] {
        let fd = LoopbackTests.connect(port: port)
        defer { close(fd) }
        let raw = Array("\(request)\r\nHost: x\r\n\r\n".utf8)
        _ = raw.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            result += chunk[0..<n]
        }
        return result
    }

    static func strip(_ response: [UInt8]) -> String {
        // Date and Server differ by design; everything else must match.
        String(decoding: response, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("Date: ") && !$0.hasPrefix("Server: ") }.joined(separator: "\r\n")
    }

    @Test func errorPagesMatchCPython() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fixturesDirectory.appendingPathComponent("python_error_server.py").path]
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        defer { try? input.fileHandleForWriting.close(); process.waitUntilExit() }
        var portLine = [UInt8]()
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 { portLine.append(byte) }
        let port = try #require(Int(String(decoding: portLine, as: UTF8.self)))

        for request in Self.requests {
            let expected = try Self.pythonResponse(port: port, request: request)
            let client = TestClient(handler: ErrorHandler.self)
            client.transport.send(request + "\r\nHost: x\r\n\r\n")
            let ours = client.transport.written
            #expect(Self.strip(ours) == Self.strip(expected), "\(request)")
        }
    }
}
