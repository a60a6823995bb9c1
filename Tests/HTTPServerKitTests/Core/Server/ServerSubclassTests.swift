import HTTPServerKit
import HTTPServerTesting
import Testing

/// Python code subclasses `HTTPServer` to override `handle_error`; so can Swift code outside the module.
@Suite struct ServerSubclassTests {
    final class CountingServer: HTTPServer, @unchecked Sendable {
        var errors = 0
        override func handleError(_ error: any Error, clientAddress: SocketAddress?) { errors += 1 }
    }

    final class Thrower: BaseHTTPRequestHandler {
        struct Boom: Error {}
        override func doGET() throws { throw Boom() }
    }

    @Test func subclassOverridesHandleError() throws {
        let clock = ManualClock()
        let server = try CountingServer(address: ("127.0.0.1", 0), configuration: ServerConfiguration(),
                                        logDestination: .discard, bindAndActivate: false, clock: clock,
                                        wallClock: { 1_795_000_000 }, handlerFactory: { Thrower() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        transport.send("GET / HTTP/1.0\r\n\r\n")
        #expect(server.errors == 1)
        #expect(String(decoding: transport.written, as: UTF8.self).hasPrefix("HTTP/1.0 500 "))
    }
}
