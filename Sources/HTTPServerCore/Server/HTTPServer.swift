import Glibc
import HTTPServerHTTP1
import HTTPServerReactor
import HTTPServerTLS

/// An HTTP/1 server on epoll reactor threads (one by default). Equivalent to Python's
/// `http.server.HTTPServer`.
///
/// ```swift
/// let server = try HTTPServer(("127.0.0.1", 8000), handler: Hello.self)
/// try server.serveForever()
/// ```
///
/// It binds and listens when created (pass `bindAndActivate: false` to do it later with
/// `serverBind()` and `serverActivate()`), serves on the thread that calls `serveForever()`, and
/// stops when `shutdown()` is called from any thread.
///
/// With `ServerConfiguration.reactors` N > 1, `serveForever()` also starts N-1 threads, each with
/// an event loop of its own; the loops accept from the one listening socket, and each serves the
/// connections it accepted until they close. Handlers and the connection hooks (`verifyRequest`,
/// `processRequest`, `finishRequest`, `closeRequest`, `handleError`, …) then run on N threads at
/// once, each call on the thread of its connection's reactor (docs/concurrency.md).
open class HTTPServer: @unchecked Sendable {
    /// The address asked for: host (name, IPv4 or IPv6 literal; "" for all interfaces) and port
    /// (0 picks a free port).
    public let requestedAddress: (host: String, port: Int)
    /// `server_address` after binding: the numeric host and the real port.
    public private(set) var serverAddress: (host: String, port: Int)
    /// `server_name`: the fully qualified name of the bound host, as Python's `socket.getfqdn`.
    public private(set) var serverName: String = ""
    /// `server_port`: the bound port (the one the kernel chose, for port 0).
    public var serverPort: Int { serverAddress.port }
    /// `allow_reuse_address`: SO_REUSEADDR on the listening socket (Python's HTTPServer sets it).
    public var allowReuseAddress = true
    /// `allow_reuse_port`: SO_REUSEPORT, so that several servers (one per core) share a port.
    public var allowReusePort = false
    /// `request_queue_size`: the listen backlog. Python uses 5; a server for many connections wants
    /// the kernel's maximum (`net.core.somaxconn`, 4096 on current Linux), so that a burst of
    /// connects is queued rather than refused.
    public var requestQueueSize: Int32 = 4096
    /// When set, the listening socket accepts only IPv6 (true) or both IPv6 and IPv4 (false) on an
    /// IPv6 address; nil leaves the system default.
    public var ipv6Only: Bool?
    /// Limits and timeouts of each connection.
    public let configuration: ServerConfiguration
    /// The reactor this server runs on, the first of them with `reactors` > 1 (the one on
    /// `serveForever()`'s thread); nil for a server of in-memory transports. A handler's own
    /// connection's loop is its `connectionLoop`.
    public let loop: EventLoop?
    /// Every reactor's event loop, `loop` first; empty for a server of in-memory transports.
    public var loops: [EventLoop] { reactors.compactMap(\.loop) }
    /// A server of in-memory transports: what other threads (workers, tasks, response streams)
    /// sent to its connections, run by the test (`runPostedWork`).
    let postedWork: PostedWork?

    var listener: ListeningSocket?
    /// Reactor 0's connection context (the only one of a server of in-memory transports).
    let context: ConnectionContext
    /// The reactors, reactor 0 (on `serveForever()`'s thread) first.
    let reactors: [ServerReactor]
    let state = ServerRunState()
    /// Python's `timeout`: how long `handleRequest()` waits for a request to be answered; nil: no limit.
    public var timeout: Duration?

    /// Creates a server whose connections are each served by a new `handler()`. Python's
    /// `HTTPServer(server_address, RequestHandlerClass)`.
    public convenience init(_ address: (String, Int), handler: BaseHTTPRequestHandler.Type,
                            configuration: ServerConfiguration = ServerConfiguration(),
                            logDestination: LogDestination = .standardError,
                            bindAndActivate: Bool = true) throws {
        try self.init(address, configuration: configuration, logDestination: logDestination,
                      bindAndActivate: bindAndActivate, handlerFactory: { handler.init() })
    }

    /// Creates a server whose connections are each served by a handler `handlerFactory` makes
    /// (Python's `functools.partial(Handler, directory=...)` idiom).
    public convenience init(_ address: (String, Int), configuration: ServerConfiguration = ServerConfiguration(),
                            logDestination: LogDestination = .standardError, bindAndActivate: Bool = true,
                            handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        try self.init(address: address, configuration: configuration, logDestination: logDestination,
                      bindAndActivate: bindAndActivate, clock: nil, wallClock: { Int64(time(nil)) },
                      handlerFactory: handlerFactory)
    }

    /// A server for in-memory transports (the fake sockets of `HTTPServerTesting`): it does not
    /// bind, and its connections take time from `clock` and dates from `wallClock`.
    public convenience init(clock: TimerScheduler, wallClock: @escaping () -> Int64,
                            configuration: ServerConfiguration = ServerConfiguration(),
                            logDestination: LogDestination = .standardError,
                            handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        try self.init(address: ("127.0.0.1", 0), configuration: configuration, logDestination: logDestination,
                      bindAndActivate: false, clock: clock, wallClock: wallClock, handlerFactory: handlerFactory)
    }

    /// The designated initializer, public so that a subclass (Python's `class MyServer(HTTPServer)`,
    /// overriding `handleError` or `serverBind`) can be made outside this module. `clock` nil: the
    /// server's own event loop; a clock: a server for in-memory transports, as
    /// `init(clock:wallClock:...)`.
    public init(address: (String, Int), configuration: ServerConfiguration, logDestination: LogDestination,
                 bindAndActivate: Bool, clock: TimerScheduler?, wallClock: @escaping () -> Int64,
                 handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        self.requestedAddress = (address.0, address.1)
        self.serverAddress = (address.0, address.1)
        self.configuration = configuration
        // In-memory transports are served by the test's thread: one reactor, with no loop.
        let count = clock == nil ? max(1, configuration.reactors) : 1
        // The reactors buffer log lines each on its own thread, and hand whole lines to one writer
        // thread, so that lines from N reactors never interleave.
        let writer = LogWriter()
        var handleError: (any Error, SocketAddress?) -> Void = { _, _ in }
        var reactors: [ServerReactor] = []
        let posted: PostedWork? = clock == nil ? nil : PostedWork()
        self.postedWork = posted
        for index in 0..<count {
            let loop = clock == nil ? try EventLoop() : nil
            let log = LogSink(logDestination, writer: writer)
            log.accessLogFormat = configuration.accessLogFormat
            let context = ConnectionContext(
                configuration: configuration, clock: clock ?? loop!, wallClock: wallClock, log: log,
                executor: loop ?? posted!, server: nil, makeHandler: handlerFactory,
                handleError: { handleError($0, $1) })
            if let loop {
                let flushTimer = Timer { [weak log] in log?.handOver() }  // weak: the sink holds this timer (via requestFlush)
                log.requestFlush = { loop.arm(flushTimer, at: loop.now.advanced(by: .milliseconds(50))) }
            }
            // Each reactor takes its share of the limit: no count shared between threads.
            let limit = configuration.maxConnections.map { ($0 + count - 1) / count }
            reactors.append(ServerReactor(index: index, loop: loop, context: context, connectionLimit: limit))
        }
        self.reactors = reactors
        self.loop = reactors[0].loop
        self.context = reactors[0].context
        for reactor in reactors {
            reactor.context.server = self
            reactor.context.onConnectionClosed = { [unowned self, unowned reactor] connection in
                self.connectionClosed(connection, on: reactor)
            }
        }
        handleError = { [unowned self] error, peer in self.handleError(error, clientAddress: peer) }
        startMetrics()
        if bindAndActivate {
            do {
                try serverBind()
                try serverActivate()
            } catch {
                serverClose()
                throw error
            }
        }
    }

    /// Where log lines go (standard error by default; `.discard` silences the access log). Set it
    /// before serving. A `.custom` function is called on every reactor's thread.
    public var logDestination: LogDestination {
        get { context.log.destination }
        set { for reactor in reactors { reactor.context.log.destination = newValue } }
    }

    /// Python's `server_bind()`: creates the socket and binds it.
    open func serverBind() throws {
        let addresses = try SocketAddress.resolve(host: requestedAddress.host, port: requestedAddress.port, passive: true)
        guard let address = addresses.first else {
            throw SystemError(call: "getaddrinfo", errno: EADDRNOTAVAIL)
        }
        let socket = try ListeningSocket(address: address, reuseAddress: allowReuseAddress, reusePort: allowReusePort,
                                         backlog: requestQueueSize, ipv6Only: ipv6Only)
        listener = socket
        let local = socket.localAddress
        serverAddress = (local.host, local.port)
        serverName = Self.fullyQualifiedName(of: local)
    }

    /// Uses `socket`, already listening, instead of binding one (HTTPServer+SocketActivation.swift).
    func adopt(_ socket: ListeningSocket) {
        listener = socket
        let local = socket.localAddress
        serverAddress = (local.host, local.port)
        serverName = Self.fullyQualifiedName(of: local)
    }

    /// Python's `server_activate()`: starts accepting connections, on every reactor.
    open func serverActivate() throws {
        guard let listener else { return }
        for reactor in reactors { try startAccepting(listener, on: reactor) }
    }

    /// `reactor`'s loop accepts from `listener` (shared with the other reactors' loops: one
    /// socket, registered in each loop with EPOLLEXCLUSIVE; docs/concurrency.md says why).
    func startAccepting(_ listener: ListeningSocket, on reactor: ServerReactor) throws {
        guard let loop = reactor.loop else { return }
        try loop.startAccepting(listener, maxPerWakeup: configuration.acceptsPerWakeup,
                                sharedWithOtherLoops: reactors.count > 1) { [unowned self, unowned reactor] transport, peer in
            self.accepted(transport, peer: peer, on: reactor)
        }
    }

    /// The transport a connection accepted on `socket` by `reactor` talks to: the socket itself,
    /// or (in `HTTPSServer`) TLS over it; nil closes the socket.
    func connectionTransport(over socket: SocketTransport, on reactor: ServerReactor) -> Transport? {
        socket
    }

    private func accepted(_ socket: SocketTransport, peer: SocketAddress, on reactor: ServerReactor) {
        if reactor.isShuttingDown {
            reactor.context.metrics?.connectionRefused("shutdown")
            socket.close()
            return
        }
        guard let transport = connectionTransport(over: socket, on: reactor) else {
            socket.close()
            return
        }
        reactor.context.metrics?.accepted += 1
        serveAccepted(transport, peer: peer)
    }

    // MARK: socketserver hooks (HTTPServer+SocketServer.swift; docs/python-mapping.md)

    /// Python's `verify_request(request, client_address)`: whether to serve a connection just
    /// accepted, before any byte of it is read. A refused one goes to `shutdownRequest`.
    open func verifyRequest(_ request: Transport, clientAddress: SocketAddress?) -> Bool { true }

    /// Python's `process_request(request, client_address)`: serves a verified connection by
    /// calling `finishRequest` (on the loop thread, as every connection is served).
    open func processRequest(_ request: Transport, clientAddress: SocketAddress?) {
        finishRequest(request, clientAddress: clientAddress)
    }

    /// Python's `finish_request(request, client_address)`: gives the connection to the reactor; its
    /// handler, made at its first request, serves every request on it.
    open func finishRequest(_ request: Transport, clientAddress: SocketAddress?) {
        startConnection(request, peer: clientAddress)
    }

    /// Python's `shutdown_request(request)`: ends a connection the server refused, by calling
    /// `closeRequest`. A served connection shuts itself down (write side first, then it lingers).
    open func shutdownRequest(_ request: Transport) { closeRequest(request) }

    /// Python's `close_request(request)`: closes the connection's transport. Also called once a
    /// served connection has closed (closing again does nothing).
    open func closeRequest(_ request: Transport) { request.close() }

    /// Python's `handle_timeout()`: called when `timeout` passes in `handleRequest()` with no
    /// request answered. Does nothing by default.
    open func handleTimeout() {}

    /// Python's `service_actions()`: called on the loop thread at least every poll interval of
    /// `serveForever(pollInterval:)`. Does nothing by default.
    open func serviceActions() {}

    /// `finishRequest`'s work: a connection over `transport`, reading from now on.
    /// The socket a connection's transport runs over (itself, or under TLS); nil for a fake one.
    private static func socket(under transport: Transport) -> SocketTransport? {
        (transport as? SocketTransport) ?? ((transport as? TLSTransport)?.underlyingTransport as? SocketTransport)
    }

    private func startConnection(_ transport: Transport, peer: SocketAddress?) {
        let reactor = currentReactor
        if let stage = proxyHeaderStage(over: transport, peer: peer, on: reactor) {
            transport.delegate = stage
            if let socket = Self.socket(under: transport) {
                do { try socket.start() } catch { stage.fail() }
            }
            return
        }
        let connection = HTTPConnection(transport: transport, context: reactor.context, peer: peer)
        transport.delegate = connection
        if let socket = Self.socket(under: transport) {
            do {
                try socket.start()
            } catch {
                transport.close()
                return
            }
        }
        reactor.connections[ObjectIdentifier(connection)] = connection
        if let limit = reactor.connectionLimit, reactor.connections.count >= limit, !reactor.isAcceptingPaused,
           let listener, let loop = reactor.loop {
            // At the limit: new clients wait in the listen backlog (or go to another reactor).
            reactor.isAcceptingPaused = true
            loop.stopAccepting(listener)
        }
    }

    private func connectionClosed(_ connection: HTTPConnection, on reactor: ServerReactor) {
        reactor.connections[ObjectIdentifier(connection)] = nil
        closeRequest(connection.transport)
        if reactor.isAcceptingPaused && !reactor.isShuttingDown, let limit = reactor.connectionLimit,
           reactor.connections.count < limit, let listener {
            reactor.isAcceptingPaused = false
            try? startAccepting(listener, on: reactor)
        }
        if reactor.isShuttingDown && reactor.connections.isEmpty {
            reactor.finishShutdown()
        }
    }

    /// Serves `transport` from its client at `peer`, whose first bytes (already read) are `leftover`:
    /// after a PROXY protocol header, on the reactor that read it.
    func serveConnection(over transport: Transport, peer: SocketAddress?, leftover: UnsafeRawBufferPointer,
                         on reactor: ServerReactor) {
        let connection = HTTPConnection(transport: transport, context: reactor.context, peer: peer)
        transport.delegate = connection
        reactor.connections[ObjectIdentifier(connection)] = connection
        if !leftover.isEmpty { connection.bytesReceived(leftover) }
    }

    /// Serves one connection over `transport` (which must deliver its events on this server's
    /// thread). This is how the fake sockets of `HTTPServerTesting` are served; sockets accepted
    /// by `serveForever()` go the same way.
    public func serveConnection(over transport: Transport, peer: SocketAddress?) {
        serveAccepted(transport, peer: peer)
    }

    /// Bytes the connection over `transport` has queued and not yet written (0 when `transport`
    /// carries no open connection of this server). For tests of backpressure (`HTTPServerTesting`).
    public func queuedOutputCount(over transport: Transport) -> Int {
        guard let connection = transport.delegate as? HTTPConnection,
              currentReactor.connections[ObjectIdentifier(connection)] != nil else { return 0 }
        return connection.outputCount
    }

    /// Writes buffered log lines now: the calling reactor's (reactor 0's from another thread while
    /// serving), or every reactor's when the server is not serving.
    public func flushLog() {
        if reactors.count > 1 && !state.isServing {
            for reactor in reactors { reactor.context.log.flush() }
        } else {
            currentReactor.context.log.flush()
        }
    }

    /// Python's `serve_forever()`: serves on the calling thread until `shutdown()`, calling
    /// `serviceActions()` every half second (Python's default `poll_interval`).
    open func serveForever() throws {
        try serveForever(pollInterval: .milliseconds(500))
    }

    /// Python's `shutdown()`: stops `serveForever()`, gracefully. It stops accepting; idle
    /// keep-alive connections are closed cleanly (write side first, so that a request already on
    /// its way is not answered with a reset); requests already received are answered, each with
    /// `Connection: close`; after `shutdownGracePeriod` what is left is closed. Then
    /// `serveForever()` returns. With `reactors` > 1, every reactor does so for its own connections,
    /// and `serveForever()` returns when all of them have (every reactor thread joined).
    ///
    /// Safe from any thread; from another thread it waits until `serveForever()` has returned, as
    /// Python's does. From a reactor's own thread (a handler, a signal handler) it begins the
    /// shutdown and returns at once.
    open func shutdown() {
        shutdownReactors()
    }

    /// Python's `server_close()`: closes the listening socket and every connection. Call it once
    /// `serveForever()` has returned (or from the server's thread, with one reactor). Called while
    /// `reactors` > 1 serve (the command line's Ctrl-C), each reactor closes its connections on its
    /// own thread, and this waits (at most a second) until they have.
    open func serverClose() {
        closeReactors()
        for reactor in reactors { reactor.context.ownBlockingPool?.stop(waitsForThreads: false) }
    }

    deinit {
        for reactor in reactors { reactor.context.ownBlockingPool?.stop(waitsForThreads: false) }
    }

    /// In-memory servers (tests): runs what workers, tasks and response streams have posted for
    /// the connections, on the calling thread, until `isDone()` or `timeout`. Returns `isDone()`.
    @discardableResult
    func runPostedWork(timeout: Duration = .seconds(5), until isDone: () -> Bool) -> Bool {
        guard let postedWork else { return isDone() }
        return postedWork.run(until: isDone, timeout: timeout)
    }

    /// Python's `handle_error(request, client_address)`: called when a handler throws. The default
    /// prints the error to standard error between dashed lines, as Python prints the traceback; with
    /// a `.custom` log destination, the lines go to it instead. With `reactors` > 1, called on the
    /// thread of the connection's reactor.
    open func handleError(_ error: any Error, clientAddress: SocketAddress?) {
        let peer = clientAddress.map { "('\($0.host)', \($0.port))" } ?? "(unknown)"
        let log = currentReactor.context.log
        log.handOver()
        let text = String(repeating: "-", count: 40) + "\n"
            + "Exception occurred during processing of request from \(peer)\n"
            + "\(error)\n"
            + String(repeating: "-", count: 40) + "\n"
        if case .custom = log.destination {
            // Whoever takes the log lines (a test harness, a log shipper) takes these too.
            for line in text.split(separator: "\n") { log.write(String(line)) }
            return
        }
        log.writeUnformatted(text)
    }

    /// Number of open client connections, on every reactor. Read it on the server's thread with
    /// one reactor; with more, once `serveForever()` has returned (each reactor counts its own).
    public var connectionCount: Int { reactors.reduce(0) { $0 + $1.connections.count } }
}
