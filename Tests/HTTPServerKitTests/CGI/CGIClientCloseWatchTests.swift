import HTTPServerKit
import HTTPServerTesting
import Testing

/// `BaseHTTPRequestHandler.whenClientCloses`, the hook the CGI handler uses to kill a silent
/// script when its client leaves, over the fake transport.
@Suite(.serialized) struct CGIClientCloseWatchTests {
    final class Watching: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var current: Watching?
        var closes = 0
        override func wantsStreamingBody() -> Bool { true }
        override func doGET() throws { try work() }
        override func doPOST() throws { try work() }
        func work() throws {
            Watching.current = self
            deferResponse()
            rfile.onData { _ in }
            if path != "/unwatched" { whenClientCloses { [unowned self] in closes += 1 } }
        }
        func answer() {
            sendResponse(200)
            sendHeader("Content-Length", "2")
            endHeaders()
            wfile.write("ok")
            finishResponse()
        }
    }

    @Test func aWatchedDeferredResponseHearsTheClientsEndOfInput() throws {
        let client = TestClient(handler: Watching.self)
        try client.sendRaw(bytes("GET /watched HTTP/1.1\r\nHost: x\r\n\r\n"))
        let handler = try #require(Watching.current)
        #expect(!client.transport.isReadingPaused, "a watched response keeps reading")
        try client.sendEndOfInput()
        #expect(handler.closes == 1)
        // The response may still be sent (a half-close is not a reset), then the connection ends.
        handler.answer()
        #expect(try client.collect().map(\.bodyText) == ["ok"])
        #expect(client.isClosedByServer)
    }

    @Test func anUnwatchedDeferredResponsePausesReadingAsBefore() throws {
        let client = TestClient(handler: Watching.self)
        try client.sendRaw(bytes("GET /unwatched HTTP/1.1\r\nHost: x\r\n\r\n"))
        let handler = try #require(Watching.current)
        #expect(client.transport.isReadingPaused)
        handler.answer()
        #expect(!client.transport.isReadingPaused)
        #expect(handler.closes == 0)
    }

    @Test func aStreamedBodyThenTheEndOfInputIsHeardAfterTheBody() throws {
        let client = TestClient(handler: Watching.self)
        try client.sendRaw(bytes("POST /watched HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"))
        let handler = try #require(Watching.current)
        try client.sendRaw(bytes("cd"))
        #expect(!client.transport.isReadingPaused, "the body is complete, and the watch goes on")
        #expect(handler.closes == 0)
        try client.sendEndOfInput()
        #expect(handler.closes == 1)
    }

    @Test func pipelinedInputPausesReadingAndTheWatchEndsWithTheResponse() throws {
        let client = TestClient(handler: Watching.self)
        try client.sendRaw(bytes("GET /watched HTTP/1.1\r\nHost: x\r\n\r\nGET /unwatched HTTP/1.1\r\nHost: x\r\n\r\n"))
        let first = try #require(Watching.current)
        #expect(client.transport.isReadingPaused, "input waits in the socket while the response is deferred")
        first.answer()
        // The next request runs; the first one's watch is over.
        let second = try #require(Watching.current)
        #expect(second === first)   // one handler per connection
        try client.sendEndOfInput()
        #expect(first.closes == 0)
    }
}
