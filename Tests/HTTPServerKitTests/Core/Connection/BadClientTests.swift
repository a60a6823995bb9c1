import Foundation
import Glibc
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import Testing

/// Bad clients over the fake transport and virtual time: slow-loris, clients that never read,
/// resets, half-closes and disconnects at every stage. Each ends with nothing left: no connection
/// in the server, no handler alive, no file descriptor open, no timer pending.
@Suite struct BadClientTests {
    // MARK: Handlers

    /// Answers `/file` with a file region (sendfile), `/drip` with 10 MiB produced 64 KiB at a time
    /// as the output drains, anything else with "Hello, World!". Records itself in `made`.
    final class Scenario: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        var filePath = ""
        var dripped = 0

        override func doGET() throws {
            switch path {
            case "/file":
                let fd = try FileDescriptor.openForReading(filePath)
                let size = try fd.size()
                sendResponse(200)
                sendHeader("Content-Length", String(size))
                endHeaders()
                wfile.sendFile(fd, range: 0..<size)
            case "/drip":
                deferResponse()
                sendResponse(200)
                sendHeader("Content-Length", String(Self.dripTotal))
                endHeaders()
                drip()
            default:
                sendResponse(200)
                sendHeader("Content-Length", "13")
                endHeaders()
                wfile.write("Hello, World!")
            }
        }

        override func doPOST() throws {
            let body = rfile.read()
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
        }

        static let dripTotal = 10 << 20
        static let piece = [UInt8](repeating: UInt8(ascii: "d"), count: 64 << 10)

        private func drip() {
            guard dripped < Self.dripTotal else {
                finishResponse()
                return
            }
            dripped += Self.piece.count
            wfile.write(Self.piece)
            wfile.whenDrained { [weak self] in self?.drip() }
        }
    }

    /// Weak references to every handler a server made: all must be gone once their connections are.
    final class Handlers {
        private var refs: [() -> BaseHTTPRequestHandler?] = []
        var alive: Int { refs.filter { $0() != nil }.count }
        var count: Int { refs.count }
        func track(_ handler: BaseHTTPRequestHandler) {
            refs.append { [weak handler] in handler }
        }
    }

    static func makeClient(configuration: ServerConfiguration = ServerConfiguration(), file: String = "",
                           handlers: Handlers) -> TestClient {
        TestClient(configuration: configuration) {
            let handler = Scenario()
            handler.filePath = file
            handlers.track(handler)
            return handler
        }
    }

    /// A temporary file of `size` bytes; removed by the caller.
    static func temporaryFile(size: Int) throws -> String {
        var template = Array("/tmp/hardening-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        let path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let chunk = [UInt8](repeating: UInt8(ascii: "f"), count: 1 << 16)
        var left = size
        while left > 0 {
            let n = min(left, chunk.count)
            _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, n) }
            left -= n
        }
        close(fd)
        return path
    }

    /// Descriptors of this process open on `path` (other suites running in parallel open and
    /// close descriptors of their own: counting all of them would not say whose they are).
    static func descriptors(openOn path: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
        return entries.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path }.count
    }

    // MARK: Slow-loris

    /// 5,000 connections each trickle one byte of a request head every five seconds. A
    /// well-behaved client on the same server is answered at once, every second of the attack,
    /// and each attacker gets its 408 when the head timeout (60 s by default) has passed since its
    /// first byte — trickling does not extend it.
    @Test func slowLorisOfFiveThousandConnectionsIsCutOffAtTheHeadTimeout() throws {
        let handlers = Handlers()
        let good = Self.makeClient(handlers: handlers)
        let attackers = try (0..<5000).map { _ in try good.openConnection() }
        let head = Array("GET /slow HTTP/1.1\r\nHost: example\r\nUser-Agent: slow".utf8)
        var sent = [Int](repeating: 0, count: attackers.count)
        var firstByteAt = [Int](repeating: -1, count: attackers.count)
        var cutOffAt = [Int](repeating: -1, count: attackers.count)
        for second in 0..<75 {
            for (i, attacker) in attackers.enumerated() where cutOffAt[i] < 0 {
                // Attackers start staggered over the first five seconds.
                let phase = second - i % 5
                if phase >= 0 && phase % 5 == 0 && sent[i] < head.count {
                    if firstByteAt[i] < 0 { firstByteAt[i] = second }
                    attacker.transport.send([head[sent[i]]])
                    sent[i] += 1
                }
            }
            let response = try good.send("GET / HTTP/1.1\r\nHost: example\r\n\r\n")
            #expect(response.status == 200, "second \(second)")
            try good.advanceTime(by: .seconds(1))
            for (i, attacker) in attackers.enumerated() where cutOffAt[i] < 0 && attacker.isClosedByServer {
                cutOffAt[i] = second + 1
            }
        }
        var statuses: [Int: Int] = [:]
        for (i, attacker) in attackers.enumerated() {
            let waited = cutOffAt[i] - firstByteAt[i]
            #expect(waited == 60, "attacker \(i) cut off after \(waited) s")
            for response in try attacker.collect() { statuses[response.status, default: 0] += 1 }
            if waited != 60 { break }
        }
        #expect(statuses == [408: attackers.count])
        // Lingering closes end when the attackers close; the well-behaved client is still served.
        for attacker in attackers { try attacker.sendEndOfInput() }
        #expect(good.server.connectionCount == 1)
        #expect(handlers.alive == 1, "\(handlers.alive) handlers alive")
        #expect(try good.send("GET / HTTP/1.1\r\nHost: example\r\n\r\n").status == 200)
    }

    // MARK: Clients that never read

    /// A client that pipelines requests and never reads the responses: the server stops parsing
    /// once the queued output passes the high watermark, so it holds at most the watermark plus one
    /// response (the rest waits in the client's socket), and the send timeout ends it.
    @Test func aPipeliningClientThatNeverReadsHoldsBoundedOutput() throws {
        let handlers = Handlers()
        let client = Self.makeClient(handlers: handlers)
        try client.stopReading()
        let request = Array("GET / HTTP/1.1\r\nHost: example\r\n\r\n".utf8)
        let batch = Array([[UInt8]](repeating: request, count: (64 << 10) / request.count).joined())
        var maxQueued = 0
        for _ in 0..<100 {  // 6.4 MB of requests, 23 MB of responses if all were answered
            client.transport.send(batch)
            maxQueued = max(maxQueued, try client.serverState().queuedOutputBytes)
        }
        let watermark = ServerConfiguration().outputHighWatermark
        #expect(maxQueued > watermark / 2)
        #expect(maxQueued <= watermark + 200, "queued \(maxQueued) bytes")
        #expect(try client.serverState().isReadingPaused)
        try client.advanceTime(by: .seconds(61))
        #expect(client.transport.isClosed, "the send timeout ends it")
        #expect(client.server.connectionCount == 0)
        #expect(handlers.alive == 0)
    }

    /// A handler that produces a 10 MiB response as the output drains holds one piece for a
    /// client that stops reading; a 10 MiB file response holds no body bytes at all (sendfile).
    @Test(arguments: ["/drip", "/file"])
    func aClientThatStopsReadingALargeResponseHoldsBoundedMemory(_ target: String) throws {
        let path = try Self.temporaryFile(size: 10 << 20)
        defer { unlink(path) }
        let handlers = Handlers()
        let client = Self.makeClient(file: path, handlers: handlers)
        try client.stopReading(after: 300_000)
        try client.sendRaw("GET \(target) HTTP/1.1\r\nHost: example\r\n\r\n")
        let state = try client.serverState()
        #expect(state.isAwaitingWritable)
        if target == "/drip" {
            #expect(state.queuedOutputBytes <= 2 * Scenario.piece.count, "queued \(state.queuedOutputBytes)")
        } else {
            #expect(Self.descriptors(openOn: path) == 1)
        }
        try client.advanceTime(by: .seconds(61))
        #expect(client.transport.isClosed)
        #expect(client.server.connectionCount == 0)
        #expect(handlers.alive == 0)
        #expect(Self.descriptors(openOn: path) == 0, "the file closes with the connection")
    }

    /// 10,000 clients each stop reading a 10 MiB drip-fed response: the server holds a bounded
    /// amount per client (about one piece), not the responses.
    @Test func tenThousandClientsThatStopReadingHoldBoundedOutputInTotal() throws {
        let handlers = Handlers()
        let first = Self.makeClient(handlers: handlers)
        var clients = [first]
        for _ in 1..<10_000 { clients.append(try first.openConnection()) }
        var total = 0
        for client in clients {
            try client.stopReading(after: 100_000)
            try client.sendRaw("GET /drip HTTP/1.1\r\nHost: example\r\n\r\n")
            total += try client.serverState().queuedOutputBytes
        }
        #expect(total <= clients.count * 2 * Scenario.piece.count, "\(total) bytes queued in all")
        try first.advanceTime(by: .seconds(61))
        #expect(first.server.connectionCount == 0)
        #expect(handlers.alive == 0)
    }

    // MARK: Client faults

    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case resetInHead, resetInBody, resetInResponse, resetInFileDownload
        case halfCloseAfterRequest, halfCloseAfterPipelinedRequests, halfCloseInHead, halfCloseInBody
        case resetWhileWaitingFor100Continue, halfCloseWhileWaitingFor100Continue, stopReadingThenReset
        var testDescription: String { rawValue }
    }

    /// Each fault at each stage: no crash, and afterwards no connection, handler, file descriptor
    /// or timer is left. A half-close is not a reset: what was asked for is still answered.
    @Test(arguments: Fault.allCases)
    func clientFaultsLeaveNothingBehind(_ fault: Fault) throws {
        let path = try Self.temporaryFile(size: 4 << 20)
        defer { unlink(path) }
        let handlers = Handlers()
        let client = Self.makeClient(file: path, handlers: handlers)
        let get = "GET / HTTP/1.1\r\nHost: example\r\n\r\n"
        switch fault {
        case .resetInHead:
            try client.sendRaw("GET / HTTP/1.1\r\nHost: exa")
            client.reset()
        case .resetInBody:
            try client.sendRaw("POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "b", count: 500))
            client.reset()
        case .resetInResponse:
            try client.stopReading(after: 100_000)
            try client.sendRaw("GET /drip HTTP/1.1\r\nHost: example\r\n\r\n")
            client.reset()
        case .resetInFileDownload:
            try client.stopReading(after: 100_000)
            try client.sendRaw("GET /file HTTP/1.1\r\nHost: example\r\n\r\n")
            #expect(Self.descriptors(openOn: path) == 1)
            client.reset()
        case .halfCloseAfterRequest:
            try client.sendRaw(get)
            let responses = try client.sendEndOfInput()
            #expect(client.responses.map(\.status) == [200], "\(responses)")
        case .halfCloseAfterPipelinedRequests:
            try client.stopReading()
            try client.sendRaw(String(repeating: get, count: 3) + "GET /file HTTP/1.1\r\nHost: example\r\n\r\n")
            try client.sendEndOfInput()
            try client.resumeReading()
            #expect(client.responses.map(\.status) == [200, 200, 200, 200])
            #expect(client.responses.last?.body.count == 4 << 20)
        case .halfCloseInHead:
            try client.sendRaw("GET / HTTP/1.1\r\nHost: exa")
            try client.sendEndOfInput()
            #expect(client.responses.map(\.status) == [400])
        case .halfCloseInBody:
            try client.sendRaw("POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 1000\r\n\r\nabc")
            try client.sendEndOfInput()
            #expect(client.responses.map(\.status) == [400])
        case .resetWhileWaitingFor100Continue:
            try client.sendRaw("POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
            #expect(client.pendingInterim.map(\.status) == [100])
            client.reset()
        case .halfCloseWhileWaitingFor100Continue:
            try client.sendRaw("POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
            try client.sendEndOfInput()
            #expect(client.responses.map(\.status) == [400])
        case .stopReadingThenReset:
            try client.stopReading()
            for _ in 0..<20 { try client.sendRaw("GET /file HTTP/1.1\r\nHost: example\r\n\r\n") }
            client.reset()
        }
        // Whatever is left times out (idle, linger); then nothing may remain.
        try client.advanceTime(by: .seconds(100))
        if !client.transport.isClosed { try client.sendEndOfInput() }
        #expect(client.transport.isClosed)
        #expect(client.server.connectionCount == 0)
        #expect(handlers.alive == 0, "\(handlers.alive) of \(handlers.count) handlers alive")
        #expect(Self.descriptors(openOn: path) == 0)
        try client.advanceTime(by: .seconds(100))
        #expect(client.clock.armedCount == 0, "no timer left")
    }
}
