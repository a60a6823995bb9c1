import Glibc
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import Logging
import Testing

/// The `.logger` destination (swift-log) and the access log formats, over fake sockets.
@Suite struct LoggerDestinationTests {
    /// Records every log record; `hold()` makes the backend block until `release()`, as a slow
    /// log shipper would.
    final class Recorder: @unchecked Sendable {
        struct Record { var level: Logger.Level; var message: String; var metadata: Logger.Metadata }
        private var mutex = pthread_mutex_t()
        private var condition = pthread_cond_t()
        private var records: [Record] = []
        private var isHeld = false

        init() { pthread_mutex_init(&mutex, nil); pthread_cond_init(&condition, nil) }

        func hold() { pthread_mutex_lock(&mutex); isHeld = true; pthread_mutex_unlock(&mutex) }
        func release() {
            pthread_mutex_lock(&mutex); isHeld = false; pthread_cond_broadcast(&condition); pthread_mutex_unlock(&mutex)
        }
        func append(_ record: Record) {
            pthread_mutex_lock(&mutex)
            while isHeld { pthread_cond_wait(&condition, &mutex) }
            records.append(record)
            pthread_mutex_unlock(&mutex)
        }
        var all: [Record] {
            pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
            return records
        }
    }

    struct Handler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            recorder.append(.init(level: event.level, message: event.message.description, metadata: event.metadata ?? [:]))
        }
    }

    final class Hello: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            if path == "/oops" { logError("something odd") }
            sendResponse(200)
            sendHeader("Content-Length", "5")
            endHeaders()
            wfile.write(Array("hello".utf8))
        }
    }

    @Test func recordsCarryMetadataAndABlockedBackendDoesNotStallServing() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in Handler(recorder: recorder) }
        let clock = ManualClock()
        let server = try HTTPServer(clock: clock, wallClock: { 1_700_000_000 }, logDestination: .logger(logger),
                                    handlerFactory: { Hello() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: try SocketAddress(ip: "192.0.2.7", port: 4242))
        recorder.hold()
        // The backend is blocked: serving goes on regardless (the loop thread only queues).
        for path in ["/a", "/oops", "/b"] {
            transport.send(bytes("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"))
        }
        let written = String(decoding: transport.written, as: UTF8.self)
        #expect(written.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
        #expect(recorder.all.isEmpty)
        recorder.release()
        server.flushLog()
        let records = recorder.all
        let access = records.filter { $0.metadata["http.status"] != nil }
        #expect(access.count == 3)
        let first = try #require(access.first)
        #expect(first.level == .info)
        #expect(first.message == "\"GET /a HTTP/1.1\" 200 5")
        #expect(first.metadata["client.address"] == "192.0.2.7")
        #expect(first.metadata["http.method"] == "GET")
        #expect(first.metadata["http.path"] == "/a")
        #expect(first.metadata["http.status"]?.description == "200")
        #expect(first.metadata["http.response.body.size"]?.description == "5")
        #expect(first.metadata["http.duration_ms"] != nil)
        #expect(first.metadata["connection.id"] != nil)
        let errors = records.filter { $0.level == .error }
        #expect(errors.map(\.message) == ["something odd"])
        #expect(errors.first?.metadata["client.address"] == "192.0.2.7")
    }

    final class Lines: @unchecked Sendable { var all: [String] = [] }

    static func serve(_ format: AccessLogFormat, _ request: String) throws -> [String] {
        var configuration = ServerConfiguration()
        configuration.accessLogFormat = format
        let lines = Lines()
        let server = try HTTPServer(clock: ManualClock(), wallClock: { 1_700_000_000 }, configuration: configuration,
                                    logDestination: .custom { lines.all.append($0) }, handlerFactory: { Hello() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: try SocketAddress(ip: "192.0.2.7", port: 4242))
        transport.send(bytes(request))
        return lines.all
    }

    @Test func commonLogFormatHasTheBodySizeAndAZonedDate() throws {
        let lines = try Self.serve(.common, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.hasPrefix("192.0.2.7 - - ["))
        #expect(line.hasSuffix("] \"GET /a HTTP/1.1\" 200 5"), "\(line)")
        // [14/Nov/2023:22:13:20 +0000]: the date, a colon before the time, a zone offset.
        let date = line.split(separator: "[")[1].split(separator: "]")[0]
        #expect(date.count == 26, "\(date)")
        #expect(date.dropFirst(11).first == ":")
        #expect(date.dropFirst(21).first == "+" || date.dropFirst(21).first == "-")
    }

    @Test func combinedLogFormatAddsRefererAndUserAgentEscaped() throws {
        let lines = try Self.serve(.combined,
            "GET /a HTTP/1.1\r\nHost: x\r\nReferer: http://r.example/\r\nUser-Agent: UA \"q\" \\\r\n\r\n")
        let line = try #require(lines.first)
        #expect(line.hasSuffix("\"GET /a HTTP/1.1\" 200 5 \"http://r.example/\" \"UA \\\"q\\\" \\\\\""), "\(line)")
        let noHeaders = try Self.serve(.combined, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(noHeaders.first?.hasSuffix("200 5 \"-\" \"-\"") == true)
    }

    @Test func refusedRequestIsLoggedInCommonFormat() throws {
        let lines = try Self.serve(.common, "GET / HTTP/1.1 extra\r\n\r\n")
        #expect(lines.contains { $0.contains("\" 400 ") }, "\(lines)")
    }

    @Test func pythonFormatIsUnchanged() throws {
        let lines = try Self.serve(.python, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix("] \"GET /a HTTP/1.1\" 200 -") == true)
    }
}
