import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// Per-request state is pooled and handed from one connection to the next: nothing of one
/// connection's request may leak into another's.
@Suite struct ExchangePoolTests {
    @Test func connectionsInSequenceOnOneServerEachParseFromScratch() throws {
        let clock = ManualClock()
        let server = try HTTPServer(clock: clock, wallClock: { 1_795_000_000 }, logDestination: .discard,
                                    handlerFactory: { EchoHandler() })
        let requests = [
            "GET /a HTTP/1.0\r\n\r\n",                                   // no header fields at all
            "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz",
            "GET /c HTTP/1.0\r\n\r\n",
            "PUT /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\nq\r\n0\r\n\r\n",
            "BAD\r\n\r\n",                                              // an error leaves the parser failed
            "GET /e HTTP/1.0\r\n\r\n",
        ]
        for request in requests {
            let transport = FakeTransport()
            server.serveConnection(over: transport, peer: nil)
            transport.send(request)
            let (responses, _) = try ResponseReader.parse(transport.written, atEOF: true)
            let response = try #require(responses.first)
            if request.hasPrefix("BAD") {
                #expect(response.status == 400)
            } else {
                #expect(response.status == 200, "\(request)")
                let path = String(request.split(separator: " ")[1])
                #expect(response.bodyText.contains("\"path\":\"\\/\(path.dropFirst())\"") || response.bodyText.contains("\"path\":\"\(path)\""))
            }
            clock.advance(by: .seconds(5))  // lingering connections close
        }
        #expect(server.connectionCount == 0)
    }
}
