import HTTPServerKit
import Reactor

/// Log lines captured from a server, for assertions.
public final class LogCapture: @unchecked Sendable {
    public private(set) var lines: [String] = []
    public init() {}
    func append(_ line: String) { lines.append(line) }
    public func removeAll() { lines.removeAll() }
}

/// A client talking to a handler through an in-memory connection: no sockets, no threads, no
/// sleeping. Everything happens synchronously inside `send`.
///
/// ```swift
/// let client = try TestClient(handler: MyHandler.self)
/// let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
/// #expect(response.status == 200)
/// ```
public final class TestClient {
    public let server: HTTPServer
    public let clock: ManualClock
    public let log = LogCapture()
    public private(set) var transport: FakeTransport
    private var received: [UInt8] = []
    private var headRequests: [Bool] = []
    private var answered = 0

    /// Seconds since the epoch that the server sees as "now" for `Date` headers and logs.
    public static let defaultWallClock: Int64 = 1_795_000_000

    public convenience init(handler: BaseHTTPRequestHandler.Type,
                            configuration: ServerConfiguration = ServerConfiguration(),
                            wallClock: Int64 = TestClient.defaultWallClock) throws {
        try self.init(configuration: configuration, wallClock: wallClock, handlerFactory: { handler.init() })
    }

    public init(configuration: ServerConfiguration = ServerConfiguration(),
                wallClock: Int64 = TestClient.defaultWallClock,
                handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        let clock = ManualClock()
        let log = self.log
        self.clock = clock
        self.server = try HTTPServer(clock: clock, wallClock: { wallClock },
                                     configuration: configuration,
                                     logDestination: .custom { log.append($0) },
                                     handlerFactory: handlerFactory)
        self.transport = FakeTransport()
        let peer = try SocketAddress.resolve(host: "127.0.0.1", port: 40000, passive: false).first
        server.serveConnection(over: transport, peer: peer)
    }

    /// Sends raw bytes and returns every response completed by them.
    @discardableResult
    public func sendRaw(_ bytes: [UInt8]) throws -> [TestResponse] {
        headRequests += Self.requestIsHEAD(bytes)
        transport.send(bytes)
        return try collect()
    }

    /// Sends `request` and returns the first response it completed.
    public func send(_ request: String) throws -> TestResponse {
        let responses = try sendRaw(Array(request.utf8))
        guard let first = responses.first else { throw ResponseReader.Failure.malformed("no complete response") }
        return first
    }

    /// The peer half-closes; returns responses completed by the close.
    @discardableResult
    public func sendEndOfInput() throws -> [TestResponse] {
        transport.sendEndOfInput()
        return try collect()
    }

    /// Responses completed since the last call (e.g. after `clock.advance`).
    public func collect() throws -> [TestResponse] {
        received += transport.takeWritten()
        let atEOF = transport.isClosed || transport.isWriteShutdown
        let start = answered
        let (responses, consumed) = try ResponseReader.parse(received, atEOF: atEOF) { i in
            let index = start + i
            return index < self.headRequests.count ? self.headRequests[index] : false
        }
        received.removeFirst(consumed)
        answered += responses.count
        return responses
    }

    /// Bytes written by the server and not yet parsed into responses.
    public var unparsedBytes: [UInt8] { received + transport.written.suffix(0) }

    /// True when the server closed the connection (fully, or its write side).
    public var isClosedByServer: Bool { transport.isClosed || transport.isWriteShutdown }

    /// Which requests in `bytes` are HEAD requests (a rough scan of request lines, enough to know
    /// which responses carry no body).
    static func requestIsHEAD(_ bytes: [UInt8]) -> [Bool] {
        var result: [Bool] = []
        var lineStart = 0
        var inHead = false
        var i = 0
        while i < bytes.count {
            if bytes[i] == 10 {
                let line = bytes[lineStart..<i]
                let isEmpty = line.isEmpty || line == [13]
                if !inHead && !isEmpty {
                    result.append(line.starts(with: Array("HEAD ".utf8)))
                    inHead = true
                } else if inHead && isEmpty {
                    inHead = false
                }
                lineStart = i + 1
            }
            i += 1
        }
        return result
    }
}
