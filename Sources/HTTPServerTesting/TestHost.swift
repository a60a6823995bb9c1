import HTTPServerKit
import HTTPServerReactor

/// The server behind one or more ``TestClient``s: an in-memory server on a ``ManualClock``, or a
/// real one on a loopback port. Its connections share its clock and its log.
final class TestHost {
    let mode: TestClient.Mode
    let server: HTTPServer
    let log: LogCapture
    let configuration: ServerConfiguration
    /// The virtual clock (in-memory mode only).
    let clock: ManualClock?
    private let loopback: LoopbackServer?
    /// The port the next in-memory connection seems to come from (each has its own, as real
    /// clients do, so log lines tell them apart).
    private var nextPeerPort = 40000

    /// An in-memory server: it cannot fail, it has no socket and no thread.
    init(configuration: ServerConfiguration, wallClock: Int64, handlerFactory: @escaping () -> BaseHTTPRequestHandler) {
        let log = LogCapture()
        let clock = ManualClock()
        let start = clock.now
        self.mode = .inMemory
        self.log = log
        self.clock = clock
        self.configuration = configuration
        self.loopback = nil
        do {
            // The wall clock moves with the virtual one, so Date headers and log times follow it.
            self.server = try HTTPServer(clock: clock,
                                         wallClock: { wallClock + start.duration(to: clock.now).components.seconds },
                                         configuration: configuration, logDestination: .custom { log.append($0) },
                                         handlerFactory: handlerFactory)
        } catch {
            preconditionFailure("an in-memory HTTPServer creates no socket and cannot fail: \(error)")
        }
    }

    /// A real server on 127.0.0.1 and a free port, serving on a thread of its own.
    init(loopbackConfiguration configuration: ServerConfiguration,
         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        let log = LogCapture()
        let loopback = try LoopbackServer(configuration: configuration, log: log, handlerFactory: handlerFactory)
        self.mode = .loopback
        self.log = log
        self.clock = nil
        self.configuration = configuration
        self.loopback = loopback
        self.server = loopback.server
    }

    /// A new connection to the server.
    func connect() throws(TestClientError) -> TestClient.Peer {
        if loopback != nil {
            return .socket(try LoopbackSocket(port: server.serverPort))
        }
        let transport = FakeTransport()
        let peer: SocketAddress?
        do {
            peer = try SocketAddress(ip: "127.0.0.1", port: nextPeerPort)
        } catch {
            peer = nil
        }
        nextPeerPort = nextPeerPort == 65535 ? 40000 : nextPeerPort + 1
        server.serveConnection(over: transport, peer: peer)
        return .fake(transport)
    }
}
