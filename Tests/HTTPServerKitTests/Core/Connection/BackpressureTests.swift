import HTTPServerHTTP1
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite struct BackpressureTests {
    final class Big: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
        }
    }

    @Test func pipelinedRequestsWaitWhileTheClientDoesNotRead() throws {
        var configuration = ServerConfiguration()
        configuration.outputHighWatermark = 150_000
        let client = TestClient(handler: Big.self, configuration: configuration)
        client.transport.stopReading(after: 0)
        let requests = String(repeating: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", count: 10)
        client.transport.send(requests)
        // Two responses are queued (over the watermark), the rest wait; reading is paused.
        #expect(client.transport.isReadingPaused)
        #expect(client.transport.written.isEmpty)
        var total: [TestResponse] = []
        for _ in 0..<100 {
            client.transport.resumeReading(64 * 1024)
            total += try client.collect()
            if total.count == 10 { break }
        }
        #expect(total.count == 10)
        #expect(total.allSatisfy { $0.body.count == 100_000 })
        #expect(!client.isClosedByServer)
    }
}