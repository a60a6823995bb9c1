import HTTPServerKit
import HTTPServerTesting
import Testing

/// Half-close, reset, a client that stops reading, and what the server does about each.
@Suite struct PeerControlTests {
    @Test func halfCloseAfterRequestsGetsTheAnswersThenAClose() throws {
        let client = TestClient(handler: Greeter.self)
        client.transport.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try client.collect()
        let state = try client.serverState()
        #expect(!state.isClosed)
        #expect(try client.sendEndOfInput().isEmpty)
        #expect(try client.serverState().isClosed)
        #expect(client.responses.count == 2)
    }

    @Test func resetMidBodyClosesTheServerSide() throws {
        let client = TestClient(handler: Greeter.self)
        _ = try client.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        #expect(client.server.connectionCount == 1)
        client.reset()
        #expect(try client.serverState().isClosed)
        #expect(client.server.connectionCount == 0)
        #expect(throws: TestClientError.self) { _ = try client.sendRaw("defghij") }
    }

    @Test func aClientThatStopsReadingSeesShortWritesThenWouldBlock() throws {
        let client = TestClient(handler: Greeter.self)
        try client.stopReading(after: 1000)
        #expect(try client.sendRaw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n").isEmpty)
        let state = try client.serverState()
        #expect(client.receivedBytes.count == 1000, "a short write took what the window allowed")
        #expect(state.isAwaitingWritable, "then wouldBlock: the server waits for the socket")
        #expect(state.queuedOutputBytes > 99_000)
        #expect(!state.isReadingPaused, "100 kB is under the high-water mark")
        let responses = try client.resumeReading()
        #expect(responses.first?.body.count == 100_000)
        #expect(try client.serverState().queuedOutputBytes == 0)
    }

    @Test func pastTheHighWaterMarkTheServerStopsReading() throws {
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 150_000
        let client = TestClient(handler: Greeter.self, configuration: configuration)
        try client.stopReading()
        _ = try client.sendRaw(String(repeating: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", count: 5))
        var state = try client.serverState()
        #expect(state.isReadingPaused)
        #expect(state.queuedOutputBytes > 150_000)
        #expect(state.writeCalls >= 1)
        // More input is held, not read.
        _ = try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        state = try client.serverState()
        #expect(state.heldInputBytes > 0)
        var responses: [TestResponse] = []
        for _ in 0..<50 where responses.count < 6 {
            responses += try client.resumeReading(64 * 1024)
        }
        #expect(responses.count == 6)
        #expect(try !client.serverState().isReadingPaused)
    }

    @Test func theServerSideAsText() throws {
        let client = TestClient(handler: Greeter10.self)
        _ = try client.send(.get("/"))
        let state = try client.serverState()
        #expect(state.isWriteShutdown, "after the last response the server lingers with its write side shut")
        #expect(!state.isClosed)
        #expect(state.description.contains("write side shut"))
        _ = try client.sendEndOfInput()
        #expect(try client.serverState().isClosed)
    }
}
