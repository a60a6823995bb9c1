import HTTPServerHTTP1
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite struct TimeoutTests {
    @Test func idleKeepAliveConnectionClosesQuietly() throws {
        var configuration = ServerConfiguration()
        configuration.idleTimeout = .seconds(5)
        let client = TestClient(handler: HelloHandler.self, configuration: configuration)
        _ = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        client.clock.advance(by: .seconds(4))
        #expect(!client.transport.isClosed)
        client.clock.advance(by: .seconds(2))
        #expect(client.transport.isClosed)
        #expect(try client.collect().isEmpty)
    }

    @Test func slowHeadGets408AtTheHeadTimeoutEvenWhileTrickling() throws {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(10)
        let client = TestClient(handler: HelloHandler.self, configuration: configuration)
        // One byte a second: each byte does not extend the head's deadline.
        for byte in bytes("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
            _ = try client.sendRaw([byte])
            client.clock.advance(by: .seconds(1))
            if client.isClosedByServer { break }
        }
        let responses = try client.collect()
        #expect(responses.first?.status == 408)
        #expect(client.isClosedByServer)
    }

    @Test func slowBodyGets408() throws {
        var configuration = ServerConfiguration()
        configuration.bodyTimeout = .seconds(3)
        let client = TestClient(handler: EchoHandler.self, configuration: configuration)
        _ = try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"))
        client.clock.advance(by: .seconds(2))
        _ = try client.sendRaw(bytes("de"))
        client.clock.advance(by: .seconds(2))
        #expect(!client.isClosedByServer, "each read of the body restarts the body timeout")
        client.clock.advance(by: .seconds(2))
        let responses = try client.collect()
        #expect(responses.first?.status == 408)
    }

    @Test func clientThatStopsReadingIsDroppedAfterTheSendTimeout() throws {
        var configuration = ServerConfiguration()
        configuration.sendTimeout = .seconds(7)
        let client = TestClient(handler: HelloHandler.self, configuration: configuration)
        client.transport.stopReading(after: 10)
        client.transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.transport.isAwaitingWritable)
        client.clock.advance(by: .seconds(8))
        #expect(client.transport.isClosed)
    }

    @Test func lingeringCloseEndsAtEndOfInputOrTimeout() throws {
        // Python's HTTP/1.0 mode answering an HTTP/1.1 client, which expects keep-alive and may
        // already be sending its next request: shut the write side and linger.
        let client = TestClient(handler: Hello10Handler.self)
        _ = try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.transport.isWriteShutdown)
        #expect(!client.transport.isClosed)
        client.transport.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")  // read and dropped
        client.clock.advance(by: .seconds(3))
        #expect(client.transport.isClosed)
    }

    @Test func clientThatAskedToCloseIsClosedAtOnce() throws {
        for request in ["GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"] {
            let client = TestClient(handler: HelloHandler.self)
            let response = try client.send(request)
            #expect(response.headers["Connection"] == "close", "RFC 9112 §9.6: a closing HTTP/1.1 server says so")
            #expect(client.transport.isClosed, "no linger: the client said it closes")
        }
    }

    @Test func clientThatAskedToCloseButSentMoreStillGetsALinger() throws {
        let client = TestClient(handler: HelloHandler.self)
        let responses = try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /more HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(responses.count == 1)
        #expect(client.transport.isWriteShutdown)
        #expect(!client.transport.isClosed)
    }
}