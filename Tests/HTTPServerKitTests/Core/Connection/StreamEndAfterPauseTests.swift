import HTTPServerKit
import HTTPServerTesting
import Testing

/// A streaming handler that pauses on the body's last bytes still hears the end once it resumes.
@Suite struct StreamEndAfterPauseTests {
    final class PausesOnEveryPiece: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var current: PausesOnEveryPiece?
        var received = 0
        var ended: Bool?
        override func wantsStreamingBody() -> Bool { true }
        override func doPOST() throws {
            PausesOnEveryPiece.current = self
            deferResponse()
            rfile.onData { [unowned self] piece in
                self.received += piece.count
                self.rfile.pause()
            }
            rfile.onEnd { [unowned self] complete in
                self.ended = complete
                self.sendResponse(204)
                self.endHeaders()
                self.finishResponse()
            }
        }
    }

    @Test func endIsReportedWhenThePauseCameWithTheLastBytes() throws {
        let client = TestClient(handler: PausesOnEveryPiece.self)
        _ = try client.sendRaw(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".utf8) + Array(repeating: 65, count: 10))
        let handler = try #require(PausesOnEveryPiece.current)
        #expect(handler.received == 10)
        #expect(handler.ended == nil, "paused on the last bytes: the end is not known yet")
        handler.rfile.resume()
        #expect(handler.ended == true)
        #expect(try client.collect().first?.status == 204)
    }
}