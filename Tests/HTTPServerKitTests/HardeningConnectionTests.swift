@testable import HTTPServerKit
import HTTPServerTesting
import Reactor
import Testing

/// Client faults and handler misbehaviour over the fake transport and virtual time.
@Suite struct HardeningConnectionTests {
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
        let client = try TestClient(handlerFactory: {
            let handler = Later()
            handler.onRequest = { handler in
                handler.deferResponse()
                waiting.append(handler)
            }
            return handler
        })
        try client.sendRaw(bytes("GET /slow HTTP/1.1\r\n\r\n"))
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
    /// and then armed its linger timer anyway. The timer outlived the connection and trapped when
    /// it fired ("attempted to read an unowned reference but object was already destroyed").
    /// The epoll transport gets there when `epoll_ctl` fails while reading resumes.
    @Test func aConnectionThatClosesWhileItStartsLingeringLeavesNoTimerArmed() throws {
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 16
        let client = try TestClient(handler: HelloHandler.self, configuration: configuration)
        client.transport.stopReading(after: 0)
        try client.sendRaw(bytes("BAD\r\n\r\n"))
        #expect(client.transport.isReadingPaused, "paused: the 400 is not taken")
        client.transport.sendEndOfInput()  // held until the server reads again
        client.transport.resumeReading(nil)
        #expect(client.transport.isClosed)
        #expect(client.server.connectionCount == 0)
        #expect(client.clock.armedCount == 0, "no timer outlives its connection")
        if client.clock.armedCount == 0 { client.clock.advance(by: .seconds(100)) }
        let responses = try client.collect()
        #expect(responses.map(\.status) == [400])
    }
}
