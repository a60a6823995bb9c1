import HTTPServerKit
import HTTPServerTesting
import Testing

/// Timeouts by virtual time, and the log.
@Suite struct TimeTests {
    static var configuration: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(10)
        configuration.bodyTimeout = .seconds(5)
        configuration.idleTimeout = .seconds(30)
        return configuration
    }

    @Test func headTimeoutAnswers408() throws {
        let client = TestClient(handler: Greeter.self, configuration: Self.configuration)
        _ = try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n")
        #expect(try client.advanceTime(by: .seconds(9)).isEmpty)
        let responses = try client.advanceTime(by: .seconds(2))
        #expect(responses.map(\.status) == [408])
        #expect(client.isClosedByServer)
    }

    @Test func bodyTimeoutRestartsWithEachRead() throws {
        let client = TestClient(handler: Greeter.self, configuration: Self.configuration)
        _ = try client.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        try client.advanceTime(by: .seconds(4))
        _ = try client.sendRaw("def")
        #expect(try client.advanceTime(by: .seconds(4)).isEmpty)
        #expect(try client.advanceTime(by: .seconds(2)).map(\.status) == [408])
    }

    @Test func idleKeepAliveConnectionClosesQuietly() throws {
        let client = TestClient(handler: Greeter.self, configuration: Self.configuration)
        _ = try client.send(.get("/"))
        try client.advanceTime(by: .seconds(29))
        #expect(!client.isClosedByServer)
        #expect(try client.advanceTime(by: .seconds(1)).isEmpty, "no 408 for an idle connection")
        #expect(try client.serverState().isClosed)
    }

    @Test func theClockShowsItsTimers() throws {
        let client = TestClient(handler: Greeter.self, configuration: Self.configuration)
        #expect(client.clock.timeToNextDeadline == .seconds(30), "the idle timeout of a new connection")
        _ = try client.sendRaw("GET")
        #expect(client.clock.timeToNextDeadline == .seconds(10), "now the head timeout")
        #expect(client.clock.advanceToNextDeadline())
        #expect(try client.collect().map(\.status) == [408])
    }

    @Test func dateHeadersFollowTheVirtualClock() throws {
        let client = TestClient(handler: Greeter.self, configuration: Self.configuration, wallClock: 784_111_777)
        #expect(try client.send(.get("/")).headers["Date"] == "Sun, 06 Nov 1994 08:49:37 GMT")
        try client.advanceTime(by: .seconds(3))
        #expect(try client.send(.get("/")).headers["Date"] == "Sun, 06 Nov 1994 08:49:40 GMT")
    }
}
