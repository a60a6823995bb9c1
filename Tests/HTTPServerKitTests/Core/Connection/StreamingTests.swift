import HTTPServerKit
import HTTPServerTesting
import Testing

/// Streamed request bodies and deferred responses: what CGI and uploads need.
@Suite struct StreamingTests {
    final class Deferring: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var waiting: [Deferring] = []
        override func doGET() throws {
            if path == "/later" {
                deferResponse()
                Deferring.waiting.append(self)
            } else {
                answer("now \(path)")
            }
        }
        func answer(_ text: String) {
            sendResponse(200)
            sendHeader("Content-Length", String(text.utf8.count))
            endHeaders()
            wfile.write(text)
        }
        func completeLater() {
            answer("later")
            finishResponse()
        }
    }

    @Test func deferredResponseHoldsPipelinedRequestsInOrder() throws {
        Deferring.waiting.removeAll()
        let client = TestClient(handler: Deferring.self)
        let responses = try client.sendRaw(bytes("GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(responses.isEmpty)
        #expect(client.transport.isReadingPaused, "no more input is read while the handler works")
        let handler = try #require(Deferring.waiting.first)
        handler.completeLater()
        let after = try client.collect()
        #expect(after.map(\.bodyText) == ["later", "now /next"])
        #expect(!client.isClosedByServer)
        #expect(!client.transport.isReadingPaused)
    }

    final class Uploader: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var current: Uploader?
        var pieces: [Int] = []
        var total = 0
        var ended: Bool?
        override func wantsStreamingBody() -> Bool { path == "/stream" }
        override func doPOST() throws {
            Uploader.current = self
            guard rfile.isStreaming else {
                let body = rfile.read()
                reply("buffered \(body.count)")
                return
            }
            deferResponse()
            rfile.onData { [unowned self] piece in
                self.pieces.append(piece.count)
                self.total += piece.count
                if self.pieces.count == 1 { self.rfile.pause() }
            }
            rfile.onEnd { [unowned self] complete in
                self.ended = complete
                if complete {
                    self.reply("streamed \(self.total)")
                    self.finishResponse()
                }
            }
        }
    }

    @Test func streamedBodyArrivesPieceByPieceWithBackpressureAndNoSizeLimit() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxBodySize = 10  // a buffered body this large would be refused
        let client = TestClient(handler: Uploader.self, configuration: configuration)
        let body = [UInt8](repeating: 65, count: 3000)
        _ = try client.sendRaw(bytes("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n") + Array(body[0..<1000]))
        let handler = try #require(Uploader.current)
        #expect(handler.pieces == [1000])
        // Paused: more input is held back, not delivered.
        client.transport.send(Array(body[1000..<2000]))
        #expect(handler.pieces == [1000])
        #expect(client.transport.isReadingPaused)
        handler.rfile.resume()
        client.transport.send(Array(body[2000...]))
        let responses = try client.collect()
        #expect(handler.total == 3000)
        #expect(handler.ended == true)
        #expect(responses.map(\.bodyText) == ["streamed 3000"])
        // The connection goes on to the next request.
        let next = try client.send("POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(next.status == 200)
        _ = next
    }

    @Test func bufferedBodyStillHonoursTheLimit() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxBodySize = 10
        let client = TestClient(handler: Uploader.self, configuration: configuration)
        let response = try client.send("POST /buffered HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(response.status == 413)
    }

    @Test func clientGoneMidStreamEndsTheStreamIncomplete() throws {
        final class Watcher: BaseHTTPRequestHandler {
            nonisolated(unsafe) static var ended: Bool?
            nonisolated(unsafe) static var finished = false
            override func wantsStreamingBody() -> Bool { true }
            override func doPUT() throws {
                deferResponse()
                rfile.onEnd { Watcher.ended = $0 }
            }
            override func finish() { Watcher.finished = true }
        }
        let client = TestClient(handler: Watcher.self)
        _ = try client.sendRaw(bytes("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial"))
        client.transport.reset()
        #expect(Watcher.ended == false)
        #expect(Watcher.finished)
        #expect(client.transport.isClosed)
    }

    final class Producer: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        nonisolated(unsafe) static var maxBuffered = 0
        var left = 0
        override func doGET() throws {
            let piece = 64 * 1024, pieces = 160  // 10 MiB
            left = pieces
            sendResponse(200)
            sendHeader("Content-Length", String(piece * pieces))
            endHeaders()
            deferResponse()
            produce(piece)
        }
        func produce(_ piece: Int) {
            guard left > 0 else { finishResponse(); return }
            left -= 1
            wfile.write([UInt8](repeating: 120, count: piece))
            Producer.maxBuffered = max(Producer.maxBuffered, wfile.bufferedCount)
            wfile.whenDrained { [unowned self] in self.produce(piece) }
        }
    }

    @Test func largeGeneratedResponseToASlowClientHoldsBoundedMemory() throws {
        Producer.maxBuffered = 0
        let client = TestClient(handler: Producer.self)
        client.transport.stopReading(after: 1000)
        client.transport.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        var total = 0
        var responses: [TestResponse] = []
        for _ in 0..<100_000 where responses.isEmpty {
            client.transport.resumeReading(32 * 1024)
            responses = try client.collect()
            total += 1
        }
        #expect(responses.first?.body.count == 10 * 1024 * 1024)
        #expect(Producer.maxBuffered <= 128 * 1024, "at most a piece or two is ever queued")
        #expect(!client.isClosedByServer)
    }
}
