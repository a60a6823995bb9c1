import HTTPServerKit
import HTTPServerReactor

/// A client talking to a handler through a server's real connection state machine, over an
/// in-memory socket (no network, no threads, no sleeping: everything happens inside each call) or,
/// with one switch, over a real loopback socket.
///
/// ```swift
/// let client = TestClient(handler: MyHandler.self)
/// let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
/// #expect(response.status == 200)
/// ```
///
/// - Send raw bytes (``sendRaw(_:delivery:)-([UInt8],_)``) or a ``TestRequest`` built from parts
///   (``send(_:delivery:)-(TestRequest,_)``), whole, a byte at a time or split where you say
///   (``Delivery``); or check that every split gives the same answer (``sendAtEverySplit(_:endingInput:)-([UInt8],_)``).
/// - Read ``TestResponse``s (status, headers in order, body, interim 1xx responses) or the raw
///   ``receivedBytes``.
/// - Play the peer: ``sendEndOfInput()``, ``reset()``, ``stopReading(after:)``, ``resumeReading(_:)``;
///   see what the server did: ``isClosedByServer``, ``serverState()``.
/// - Move virtual time: ``advanceTime(by:)``, or ``clock``.
/// - Read the server's log: ``log``.
///
/// The client knows which response answers which request because it reads what it sends with the
/// server's own parser (``requestsSent``): a response to `HEAD` has no body, one to HTTP/0.9 has
/// no status line.
///
/// ## Loopback
///
/// `TestClient(handler: MyHandler.self, mode: .loopback)` runs a real `HTTPServer` on 127.0.0.1
/// and a free port, serving on a background thread, and connects a real socket to it. The same
/// calls send the same bytes and read the responses: a call returns when the responses it can
/// expect have arrived (the client counts the requests it sent), when the server closes, or after
/// ``quietPeriod`` of silence when a response may or may not come (a request whose body is not
/// all sent). Over loopback there is no virtual time, no byte-exact read window and no view of the
/// server's side: ``advanceTime(by:)``, ``serverState()``, `stopReading(after:)` with a count and
/// `resumeReading(_:)` with a count throw ``TestClientError/Kind/unsupportedInLoopback``,
/// and ``clock`` and ``transport`` must not be used. Splits are best effort: each piece is its own
/// `send`, but the kernel may join pieces before the server reads them.
///
/// A client is used from one thread at a time.
public final class TestClient {
    /// Where the server runs.
    public enum Mode: Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// An in-memory socket (``FakeTransport``) and a virtual clock (``ManualClock``):
        /// synchronous and deterministic.
        case inMemory
        /// A real `HTTPServer` on 127.0.0.1 serving on a background thread, and a real client socket.
        case loopback

        /// `"in-memory"` or `"loopback"`.
        public var description: String {
            switch self {
            case .inMemory: "in-memory"
            case .loopback: "loopback"
            }
        }
    }

    /// The client end of a connection.
    enum Peer {
        case fake(FakeTransport)
        case socket(LoopbackSocket)
    }

    /// Seconds since the epoch that an in-memory server sees as "now" for `Date` headers and log
    /// lines when the virtual clock starts (it moves with ``clock``).
    public static let defaultWallClock: Int64 = 1_795_000_000

    /// Where the server runs.
    public var mode: Mode { host.mode }
    /// The server (in loopback mode it serves on another thread: do not touch its state).
    public var server: HTTPServer { host.server }
    /// The log lines the server and its handlers wrote (shared by the connections of one server).
    public var log: LogCapture { host.log }
    /// Over loopback, the longest wait for an expected response (or for the server to take the
    /// bytes sent). Ignored in memory.
    public var responseTimeout: Duration = .seconds(5)
    /// Over loopback, how long a call waits for a response that may or may not come (after part of
    /// a request body: a `100 Continue`, or an early answer). Ignored in memory.
    public var quietPeriod: Duration = .milliseconds(100)

    /// Every final response read on this connection so far, in order.
    public internal(set) var responses: [TestResponse] = []
    /// Interim (1xx) responses read whose final response has not arrived yet.
    public internal(set) var pendingInterim: [TestResponse] = []

    private let host: TestHost
    let peer: Peer
    var tracker: RequestTracker
    /// Bytes received and not yet read as final responses.
    var received: [UInt8] = []
    /// Everything received (loopback; in memory the transport keeps it).
    var everything: [UInt8] = []
    /// Responses read and not yet returned by a call.
    var unreturned: [TestResponse] = []
    var didEndInput = false
    var didReset = false

    // MARK: Making a client

    /// An in-memory client of a new server whose connections are each served by a new `handler`.
    ///
    /// - Parameters:
    ///   - handler: the handler class; each connection gets an instance made with `init()`.
    ///   - configuration: the server's limits and timeouts.
    ///   - wallClock: seconds since the epoch when the virtual clock starts, for `Date` headers.
    public convenience init(handler: BaseHTTPRequestHandler.Type,
                            configuration: ServerConfiguration = ServerConfiguration(),
                            wallClock: Int64 = TestClient.defaultWallClock) {
        self.init(configuration: configuration, wallClock: wallClock, handlerFactory: { handler.init() })
    }

    /// An in-memory client of a new server whose connections are each served by a handler
    /// `handlerFactory` makes (for handlers that take arguments).
    public init(configuration: ServerConfiguration = ServerConfiguration(),
                wallClock: Int64 = TestClient.defaultWallClock,
                handlerFactory: @escaping () -> BaseHTTPRequestHandler) {
        let host = TestHost(configuration: configuration, wallClock: wallClock, handlerFactory: handlerFactory)
        self.host = host
        self.tracker = RequestTracker(limits: configuration.limits)
        do {
            self.peer = try host.connect()
        } catch {
            preconditionFailure("an in-memory connection cannot fail: \(error)")
        }
        trackPeerSends()
    }

    /// A client of a new server in `mode`, whose connections are each served by a new `handler`.
    ///
    /// ```swift
    /// let client = try TestClient(handler: MyHandler.self, mode: .loopback)
    /// ```
    ///
    /// Throws when a loopback server cannot start or the client cannot connect. `wallClock` applies
    /// in memory only; a loopback server has the real time.
    public convenience init(handler: BaseHTTPRequestHandler.Type, mode: Mode,
                            configuration: ServerConfiguration = ServerConfiguration(),
                            wallClock: Int64 = TestClient.defaultWallClock) throws {
        try self.init(mode: mode, configuration: configuration, wallClock: wallClock, handlerFactory: { handler.init() })
    }

    /// A client of a new server in `mode`, whose connections are each served by a handler
    /// `handlerFactory` makes. Over loopback the factory runs on the server's thread.
    public convenience init(mode: Mode, configuration: ServerConfiguration = ServerConfiguration(),
                            wallClock: Int64 = TestClient.defaultWallClock,
                            handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        switch mode {
        case .inMemory:
            self.init(configuration: configuration, wallClock: wallClock, handlerFactory: handlerFactory)
        case .loopback:
            try self.init(host: TestHost(loopbackConfiguration: configuration, handlerFactory: handlerFactory))
        }
    }

    private init(host: TestHost) throws {
        self.host = host
        self.tracker = RequestTracker(limits: host.configuration.limits)
        self.peer = try host.connect()
        trackPeerSends()
    }

    /// In memory, the tracker reads every byte the peer sends, also those a test sends through
    /// `transport` directly.
    private func trackPeerSends() {
        guard case .fake(let transport) = peer else { return }
        transport.peerSent = { [weak self] bytes in self?.tracker.sent(bytes) }
    }

    /// A new connection to the same server (same handler type, configuration, clock and log),
    /// with a handler instance of its own. For tests of several clients at once.
    public func openConnection() throws -> TestClient {
        let client = try TestClient(host: host)
        client.responseTimeout = responseTimeout
        client.quietPeriod = quietPeriod
        return client
    }

    deinit {
        // Over loopback, close before the server stops, so that its graceful shutdown is quick.
        if case .socket(let socket) = peer { socket.close() }
    }

    // MARK: The in-memory pieces

    /// The in-memory socket of this connection: the peer's controls and the server's side.
    ///
    /// In loopback mode there is none: using it is a programmer error (it traps).
    public var transport: FakeTransport {
        guard case .fake(let transport) = peer else {
            preconditionFailure("TestClient.transport: a loopback client has a real socket, not a FakeTransport")
        }
        return transport
    }

    /// The server's virtual clock: `clock.advance(by:)` fires the timeouts that come due.
    ///
    /// In loopback mode time is real: using it is a programmer error (it traps); prefer
    /// ``advanceTime(by:)``, which throws there.
    public var clock: ManualClock {
        guard let clock = host.clock else {
            preconditionFailure("TestClient.clock: a loopback server runs on real time")
        }
        return clock
    }

    // MARK: Sending

    /// Sends `bytes` and returns every response completed by them (over loopback: every response
    /// the requests sent so far can expect, see the type's notes).
    @discardableResult
    public func sendRaw(_ bytes: [UInt8], delivery: Delivery = .whole) throws -> [TestResponse] {
        try deliver(bytes, delivery)
        return try collect()
    }

    /// Sends the UTF-8 bytes of `text` and returns every response completed by them.
    @discardableResult
    public func sendRaw(_ text: String, delivery: Delivery = .whole) throws -> [TestResponse] {
        try sendRaw(Array(text.utf8), delivery: delivery)
    }

    /// Sends `request` (raw text, e.g. `"GET / HTTP/1.1\r\n\r\n"`) and returns the first response
    /// it completed. Further responses (pipelined requests) are returned by the next ``collect()``.
    /// Throws ``TestClientError/Kind/noResponse`` when none came.
    public func send(_ request: String, delivery: Delivery = .whole) throws -> TestResponse {
        try firstResponse(try sendRaw(Array(request.utf8), delivery: delivery), to: request)
    }

    /// Sends `request` and returns its response.
    ///
    /// With `expectsContinue`, the head goes first; the body follows only if the server did not
    /// answer with a final response (a `100 Continue`, or silence, lets it go on, as curl does
    /// after its wait). The interim responses are in the response's `interim`.
    public func send(_ request: TestRequest, delivery: Delivery = .whole) throws -> TestResponse {
        let head = request.headBytes
        let body = request.bodyBytes
        guard request.expectsContinue && !body.isEmpty else {
            return try firstResponse(try sendRaw(head + body, delivery: delivery), to: request.description)
        }
        let bytes = head + body
        let pieces = delivery.ranges(in: bytes.count, alsoCuttingAt: head.count)
        try deliver(bytes, pieces: pieces.filter { $0.upperBound <= head.count })
        let early = try collect()
        if !early.isEmpty {
            // Answered without the body (417, or an error): the body is not sent.
            return try firstResponse(early, to: request.description)
        }
        try deliver(bytes, pieces: pieces.filter { $0.lowerBound >= head.count })
        return try firstResponse(try collect(), to: request.description)
    }

    /// Sends `requests` back to back in one delivery (pipelined) and returns the responses.
    @discardableResult
    public func send(pipelined requests: [TestRequest], delivery: Delivery = .whole) throws -> [TestResponse] {
        try sendRaw(requests.flatMap(\.bytes), delivery: delivery)
    }

    /// The requests sent on this connection, as the server's parser reads them.
    public var requestsSent: [SentRequest] { tracker.requests }

    private func deliver(_ bytes: [UInt8], _ delivery: Delivery) throws {
        try deliver(bytes, pieces: delivery.ranges(in: bytes.count))
    }

    /// Sends `pieces` of `bytes`, each in its own write; the request tracker reads each first.
    private func deliver(_ bytes: [UInt8], pieces: [Range<Int>]) throws {
        guard !didReset else { throw TestClientError(.connectionReset, "the client reset the connection") }
        for piece in pieces {
            switch peer {
            case .fake(let transport):
                transport.send(Array(bytes[piece]))  // tells the tracker
            case .socket(let socket):
                tracker.sent(Array(bytes[piece]))
                try socket.write(bytes[piece], deadline: Instant.now().advanced(by: responseTimeout))
            }
        }
    }

    private func firstResponse(_ responses: [TestResponse], to request: String) throws -> TestResponse {
        guard let first = responses.first else {
            let state = isClosedByServer ? "the server closed the connection" : "the connection is open"
            var message = "no complete response to \(request.prefix(200).debugDescription) (\(state)"
            if !unparsedBytes.isEmpty {
                message += "; unread: \(String(decoding: unparsedBytes.prefix(200), as: UTF8.self).debugDescription)"
            }
            throw TestClientError(.noResponse, message + ")")
        }
        unreturned = Array(responses.dropFirst()) + unreturned
        return first
    }
}
