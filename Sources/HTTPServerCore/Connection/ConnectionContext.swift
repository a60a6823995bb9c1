import HTTPServerHTTP1
import HTTPServerReactor

/// What the connections of one loop share: configuration, clock, buffers, the `Date` cache, the log.
/// Everything here is used on the loop thread only.
final class ConnectionContext {
    let configuration: ServerConfiguration
    let clock: TimerScheduler
    /// Seconds since the epoch, for `Date` headers and log lines. Injectable for tests.
    let wallClock: () -> Int64
    let pool = BufferPool()
    let log: LogSink
    let makeHandler: () -> BaseHTTPRequestHandler
    weak var server: HTTPServer?
    /// Called when a connection has closed (the server forgets it).
    var onConnectionClosed: ((HTTPConnection) -> Void)?
    /// Set while `HTTPServer.handleRequest()` runs: a request has been answered.
    var onRequestFinished: (() -> Void)?
    var handleError: (any Error, SocketAddress?) -> Void

    /// The configuration's timeouts in nanoseconds (Duration arithmetic is slow on the hot path).
    let headTimeout: Int64
    let bodyTimeout: Int64
    let idleTimeout: Int64
    let sendTimeout: Int64
    let lingerTimeout: Int64
    /// Every connection's current deadline.
    let timeouts: TimeoutQueue

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The parser's limits. The parser does not enforce the body limit: it applies to buffered
    /// bodies only, and whether a body is buffered or streamed is the handler's choice, made
    /// after the head.
    let parserLimits: ParserLimits
    let bufferedBodyLimit: Int?

    /// Ready-made `Server:` and status lines, for the handler class that made them (one class per
    /// server in practice; another class simply rebuilds them).
    var serverLine: (owner: ObjectIdentifier, bytes: [UInt8])?
    var statusLine: (owner: ObjectIdentifier, code: Int, bytes: [UInt8])?
    /// The access log's local-time stamp, formatted once a second.
    var logDate: (second: Int64, text: String) = (-1, "")
    /// The Common/Combined log's stamp, formatted once a second (Server/AccessLog.swift).
    /// The server's metrics; nil without a metrics backend (Server/ServerMetrics.swift).
    var metrics: ServerMetrics?
    var accessLogDate: (second: Int64, text: String) = (-1, "")
    /// `ThreadingHTTPServer`: the pool that runs handlers; nil runs them on the reactor.
    var workers: HandlerWorkers?
    /// Runs work sent from other threads on the loop thread; async handlers' task executor.
    let executor: any ConnectionExecutor
    /// The threads of async handlers' `blocking { }`: the worker pool's, or made at first use.
    var blockingPool: WorkerPool {
        if let pool = workers?.pool ?? ownBlockingPool { return pool }
        let pool = WorkerPool(threadCount: configuration.workerThreads)
        ownBlockingPool = pool
        return pool
    }
    private(set) var ownBlockingPool: WorkerPool?

    init(configuration: ServerConfiguration, clock: TimerScheduler, wallClock: @escaping () -> Int64,
         log: LogSink, executor: any ConnectionExecutor, server: HTTPServer?, makeHandler: @escaping () -> BaseHTTPRequestHandler,
         handleError: @escaping (any Error, SocketAddress?) -> Void) {
        self.configuration = configuration
        var limits = configuration.limits
        self.bufferedBodyLimit = limits.maxBodySize
        limits.maxBodySize = nil
        self.parserLimits = limits
        self.headTimeout = Self.nanoseconds(configuration.headTimeout)
        self.bodyTimeout = Self.nanoseconds(configuration.bodyTimeout)
        self.idleTimeout = Self.nanoseconds(configuration.idleTimeout)
        self.sendTimeout = Self.nanoseconds(configuration.sendTimeout)
        self.lingerTimeout = Self.nanoseconds(configuration.lingerTimeout)
        self.clock = clock
        self.timeouts = TimeoutQueue(clock: clock, durations: [
            .idle: idleTimeout, .head: headTimeout, .body: bodyTimeout, .send: sendTimeout, .linger: lingerTimeout,
        ])
        self.wallClock = wallClock
        self.log = log
        self.executor = executor
        self.server = server
        self.makeHandler = makeHandler
        self.handleError = handleError
    }

    private var dateLine: [UInt8] = []
    private var dateLineSecond: Int64 = -1

    /// `Date: <IMF-fixdate>\r\n`, rebuilt at most once a second.
    func withDateLine<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let now = wallClock()
        if now != dateLineSecond {
            dateLineSecond = now
            var line: [UInt8] = []
            swap(&line, &dateLine)  // rebuilt in its own storage, which it keeps
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: "Date: ".utf8)
            HTTPDate.format(epochSeconds: now, into: &line)
            line.append(13)
            line.append(10)
            dateLine = line
        }
        // Read once, then written from outside the access: no exclusivity check spans `body`.
        let line = dateLine
        return line.withUnsafeBytes(body)
    }
}

/// A client address kept only until the connection's handler exists (a `SocketAddress` is large;
/// a box keeps the connection small).
final class SocketAddressBox {
    let address: SocketAddress
    init(_ address: SocketAddress) { self.address = address }
}
