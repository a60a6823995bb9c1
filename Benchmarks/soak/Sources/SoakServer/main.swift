// The server under soak: "Hello, World!" over HTTP/1.1 keep-alive, a 10 MiB response produced
// 16 KiB at a time as the output drains (for clients that never read), and a body echo.
// Prints its port, then serves until SIGTERM (graceful shutdown, exit 0).
import Glibc
import HTTPServerKit

final class SoakHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }
    override func logMessage(_ message: String) {}

    static let hello = Array("Hello, World!".utf8)
    static let piece = [UInt8](repeating: UInt8(ascii: "b"), count: 16 << 10)
    static let bigSize = 10 << 20

    override func doGET() throws {
        if path == "/big" {
            deferResponse()
            sendResponse(200)
            sendHeader("Content-Length", String(Self.bigSize))
            endHeaders()
            pump(Self.bigSize)
            return
        }
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
        wfile.write(Self.hello)
    }

    override func doPOST() throws {
        let count = String(rfile.count)
        sendResponse(200)
        sendHeader("Content-Length", String(count.utf8.count))
        endHeaders()
        wfile.write(count)
    }

    private func pump(_ remaining: Int) {
        guard remaining > 0 else {
            finishResponse()
            return
        }
        let n = min(remaining, Self.piece.count)
        Self.piece.withUnsafeBytes { wfile.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        wfile.whenDrained { [weak self] in self?.pump(remaining - n) }
    }
}

/// glibc's malloc_trim(3) (not in the Glibc module).
@_silgen_name("malloc_trim")
func mallocTrim(_ pad: Int) -> Int32

var configuration = ServerConfiguration()
// Short timeouts, so that slow and non-reading clients cycle several times during a soak run:
// SoakServer [head-and-body-timeout-seconds [send-timeout-seconds]].
let arguments = CommandLine.arguments
let headTimeout = arguments.count > 1 ? Int(arguments[1]) ?? 2 : 2
let sendTimeout = arguments.count > 2 ? Int(arguments[2]) ?? 8 : 8
configuration.headTimeout = .seconds(headTimeout)
configuration.bodyTimeout = .seconds(headTimeout)
configuration.sendTimeout = .seconds(sendTimeout)
configuration.shutdownGracePeriod = .seconds(5)

do {
    let server = try HTTPServer(("127.0.0.1", 0), handler: SoakHandler.self, configuration: configuration,
                                logDestination: .discard)
    try server.loop!.onSignal(SIGTERM) { server.shutdown() }
    // SIGUSR1: give freed heap memory back to the system, so that RSS shows what is in use rather
    // than what glibc's allocator keeps for later.
    try server.loop!.onSignal(SIGUSR1) { _ = mallocTrim(0) }
    print("port \(server.serverPort)")
    fflush(stdout)
    try server.serveForever()
    server.serverClose()
} catch {
    print("error: \(error)")
    exit(1)
}
