import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// Many connections on one server and one clock: each times out at its own deadline, in order,
/// and activity pushes a deadline back.
@Suite struct TimeoutQueueTests {
    @Test func thousandConnectionsTimeOutInDeadlineOrder() throws {
        let clock = ManualClock()
        var configuration = ServerConfiguration()
        configuration.idleTimeout = .seconds(10)
        let server = try HTTPServer(clock: clock, wallClock: { 1_795_000_000 }, configuration: configuration,
                                    logDestination: .discard, handlerFactory: { HelloHandler() })
        var transports: [FakeTransport] = []
        for _ in 0..<1000 {
            let transport = FakeTransport()
            server.serveConnection(over: transport, peer: nil)
            transports.append(transport)
            clock.advance(by: .milliseconds(5))  // connection i is due at 10 s + 5 ms × i
        }
        #expect(server.connectionCount == 1000)
        // Keep every tenth connection busy: its idle deadline moves.
        for (i, transport) in transports.enumerated() where i % 10 == 0 {
            transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        clock.advance(by: .milliseconds(10_000 - 5 * 1000 + 5 * 500))  // half of the others are due
        let closed = transports.indices.filter { transports[$0].isClosed }
        #expect(closed.count == 450)
        #expect(closed.allSatisfy { $0 < 500 && $0 % 10 != 0 })
        clock.advance(by: .seconds(20))
        #expect(transports.allSatisfy { $0.isClosed })
        #expect(server.connectionCount == 0)
    }
}
