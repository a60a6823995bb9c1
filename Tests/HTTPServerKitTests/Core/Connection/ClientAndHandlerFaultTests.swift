import HTTPServerKit
@testable import HTTPServerCore
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// Client faults and handler misbehaviour over the fake transport and virtual time.
@Suite struct ClientAndHandlerFaultTests {
    /// A handler that answers later, from a timer on the test's clock.
    final class Later: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        var onRequest: (Later) -> Void = { _ in }
        override func doMethod(_ command: String) throws {
            onRequest(self)
        }
        func answer(_ text: String) {
            sendResponse(200)
            sendHeader("Content-Length", String(text.utf8.count))
            endHeaders()
            wfile.write(text)
        }
    }

    /// Found by the connection fuzz target: a handler kept its (unowned) connection after the
    /// connection closed, so a deferred response that completed after the client had gone wrote
    /// into a freed connection (heap-use-after-free under ASan; memory corruption without it).
    @Test func aDeferredHandlerThatAnswersAfterItsClientResetTouchesNothing() throws {
        var waiting: [Later] = []
        let client = TestClient(handlerFactory: {
            let handler = Later()
            handler.onRequest = { handler in
                handler.deferResponse()
                waiting.append(handler)
            }
            return handler
        })
        try client.sendRaw(bytes("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
        let handler = try #require(waiting.first)
        #expect(handler.isConnected)
        client.transport.reset()
        #expect(client.server.connectionCount == 0)
        // The connection is gone: the handler must not hold on to it.
        #expect(handler.connection == nil)
        #expect(!handler.isConnected)
        let written = client.transport.written.count
        handler.answer("too late")
        handler.finishResponse()
        #expect(client.transport.written.count == written)
        #expect(handler.server === client.server, "the server is still reachable")
    }

    /// Found by the connection fuzz target: when the transport delivered a held end of input
    /// synchronously as lingering resumed reading, the connection closed inside `startLingering()`
    /// and was then put on the linger timeout list anyway: the list kept a dangling (unowned)
    /// pointer to the freed connection, and the timer trapped or corrupted memory when it fired.
    /// The epoll transport gets there when `epoll_ctl` fails while reading resumes or while
    /// waiting for writability is armed.
    @Test func aConnectionThatClosesWhileItStartsLingeringIsOnNoTimeoutList() throws {
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 16
        var handlers: [Later] = []
        let client = TestClient(configuration: configuration, handlerFactory: {
            let handler = Later()
            handlers.append(handler)
            return handler
        })
        client.transport.stopReading(after: 0)
        try client.sendRaw(bytes("BAD\r\n\r\n"))
        // Held here (strongly) so that a dangling list entry is detected rather than dereferenced.
        let connection = try #require(handlers.first?.connection)
        #expect(client.transport.isReadingPaused, "paused: the 400 is not taken")
        client.transport.sendEndOfInput()  // held until the server reads again
        client.transport.resumeReading(nil)
        #expect(client.transport.isClosed)
        #expect(client.server.connectionCount == 0)
        #expect(connection.state == .closed)
        #expect(connection.timeoutKind == HTTPConnection.noTimeout, "a closed connection is on no timeout list")
        client.clock.advance(by: .seconds(100))
        #expect(client.clock.armedCount == 0)
        let responses = try client.collect()
        #expect(responses.map(\.status) == [400])
    }

    /// Found by the connection fuzz target: `rfile` and `wfile` are views of the connection, and a
    /// handler that kept one (`let body = rfile`, then `body.resume()` from a timer) after its client
    /// reset reached through a pointer to the freed connection (heap-use-after-free under ASan).
    /// A kept view must find no connection once it has closed, as the handler itself does.
    @Test func rfileAndWfileKeptPastTheConnectionFindNothing() throws {
        var kept: [(RequestBody, ResponseWriter)] = []
        let client = TestClient(handlerFactory: {
            let handler = Later()
            handler.onRequest = { handler in
                handler.deferResponse()
                kept.append((handler.rfile, handler.wfile))
            }
            return handler
        })
        try client.sendRaw(bytes("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
        let (body, writer) = try #require(kept.first)
        client.transport.reset()
        #expect(client.server.connectionCount == 0)
        // Before the fix, these reached into the freed connection (a crash, or a report under ASan).
        let written = client.transport.written.count
        body.resume()
        writer.write("too late")
        writer.flush()
        #expect(body.read().isEmpty)
        #expect(client.transport.written.count == written)
    }

    /// Streams the body; answers from `onEnd` and finishes the deferred response there.
    final class AnswersAtEndOfStream: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        override func wantsStreamingBody() -> Bool { true }
        var connectionSeen: HTTPConnection?
        override func doMethod(_ command: String) throws {
            connectionSeen = connection
            deferResponse()
            rfile.onData { _ in }
            rfile.onEnd { [self] _ in
                sendResponse(200)
                sendHeader("Content-Length", "2")
                endHeaders()
                wfile.write("ok")
                finishResponse()
            }
        }
    }

    /// Found by the connection fuzz target (heap-use-after-free in the timeout queue): when a
    /// streamed body ended and the handler finished its deferred response from `onEnd`, the request
    /// was finished twice — once by `finishResponse()`, once more by the parse loop. When the first
    /// had closed the connection, the second brought it back (`.closingAfterOutput`, then lingering)
    /// and put it on the linger list, where it stayed after being freed. With keep-alive, the second
    /// reset the parser under a request that had already begun.
    @Test(arguments: ["HTTP/1.0", "HTTP/1.1"])
    func aResponseFinishedFromOnEndFinishesTheRequestOnce(_ version: String) throws {
        var handlers: [AnswersAtEndOfStream] = []
        let client = TestClient(handlerFactory: {
            let handler = AnswersAtEndOfStream()
            handlers.append(handler)
            return handler
        })
        let responses = try client.sendRaw(bytes("PUT /a \(version)\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            + "PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))
        let connection = try #require(handlers.first?.connectionSeen)
        if version == "HTTP/1.0" {
            #expect(responses.map(\.bodyText) == ["ok"])
            #expect(client.transport.isClosed)
            #expect(connection.state == .closed, "a closed connection stays closed")
            #expect(connection.timeoutKind == HTTPConnection.noTimeout, "and is on no timeout list")
        } else {
            #expect(responses.map(\.bodyText) == ["ok", "ok"], "both requests answered, in order")
            #expect(connection.state == .awaitingRequest)
        }
        client.clock.advance(by: .seconds(100))
        #expect(client.server.connectionCount == 0)
    }

    final class StreamingLater: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        override func wantsStreamingBody() -> Bool { true }
        var onRequest: (StreamingLater) -> Void = { _ in }
        override func doMethod(_ command: String) throws { onRequest(self) }
        func answer(_ text: String) {
            sendResponse(200)
            sendHeader("Content-Length", String(text.utf8.count))
            endHeaders()
            wfile.write(text)
        }
    }

    /// Found by the connection fuzz target (a trap: "Range requires lowerBound <= upperBound" in the
    /// parser's field scanner). When a streamed body turned out malformed (here, a bad trailer) while
    /// the handler's response was deferred, the connection noted the end of the stream but went on
    /// feeding later input to the parser that had already thrown; the parser's positions were stale
    /// and a range it built trapped. A malformed body is now read no further.
    @Test func inputAfterAMalformedStreamedBodyIsNotParsed() throws {
        var handlers: [StreamingLater] = []
        var ended: [Bool] = []
        let client = TestClient(handlerFactory: {
            let handler = StreamingLater()
            handler.onRequest = { handler in
                handler.deferResponse()
                handler.rfile.onData { _ in }
                handler.rfile.onEnd { ended.append($0) }
            }
            handlers.append(handler)
            return handler
        })
        try client.sendRaw(bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX\\\\"))
        try client.sendRaw(bytes(":"))
        try client.sendRaw(bytes(" c\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(ended == [false], "the stream ended, incomplete")
        let later = try #require(handlers.first)
        later.answer("done")
        later.finishResponse()
        let responses = try client.collect()
        #expect(responses.map(\.status) == [200])
        #expect(responses.first?.headers["Connection"] == "close")
        #expect(client.isClosedByServer)
    }
}
