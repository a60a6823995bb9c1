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

    /// Ready-made status line and `Server:` + `Date:` lines, for the handler class that made them
    /// (one class per server in practice; another class simply rebuilds them).
    let headLines = ReadyHeadLines()
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

    /// Connections that became idle holding an exchange since the last sweep. Not owned: a
    /// connection leaves the list when it closes or is freed (`unpark`).
    private var parked: [Unmanaged<HTTPConnection>] = []
    private var sweepTimer: Timer?
    /// How long an idle connection may keep its exchange, at most.
    static let parkingTime: Duration = .milliseconds(100)
    /// How many idle connections may keep their exchange at once: enough for the busy ones of a
    /// loaded server, few enough that 10,000 connections going idle together (after one request
    /// each) do not hold 10,000 exchanges until the sweep (RSS per idle connection 494 → NNN B).
    static let maxParked = 256

    var hasRoomToPark: Bool { parked.count < Self.maxParked }

    /// `connection` is idle with an exchange: it gives it back at the next sweep if still idle.
    func park(_ connection: HTTPConnection) {
        connection.parkIndex = Int32(parked.count)
        parked.append(Unmanaged.passUnretained(connection))
        if parked.count == 1 { armSweep() }
    }

    private func armSweep() {
        let timer = sweepTimer ?? Timer { [unowned self] in self.sweepParked() }
        sweepTimer = timer
        clock.arm(timer, after: Self.parkingTime)
    }

    deinit {
        // The scheduler keeps an armed timer, whose action must not outlive the context.
        if let sweepTimer { clock.disarm(sweepTimer) }
    }

    /// Takes `connection` off the list (it is closing, or being freed).
    func unpark(_ connection: HTTPConnection) {
        let index = Int(connection.parkIndex)
        connection.parkIndex = -1
        let last = parked.removeLast()
        if index < parked.count {
            parked[index] = last
            last.takeUnretainedValue().parkIndex = Int32(index)
        }
    }

    private func sweepParked() {
        var list: [Unmanaged<HTTPConnection>] = []
        swap(&list, &parked)
        for entry in list {
            let connection = entry.takeUnretainedValue()
            connection.parkIndex = -1
            connection.giveBackIdleExchange()
        }
        list.removeAll(keepingCapacity: true)
        if parked.isEmpty { swap(&list, &parked) }  // keep the storage
        if !parked.isEmpty { armSweep() }
    }

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

}

/// A client address kept only until the connection's handler exists (a `SocketAddress` is large;
/// a box keeps the connection small).
final class SocketAddressBox {
    let address: SocketAddress
    init(_ address: SocketAddress) { self.address = address }
}

/// The lines every response of a server begins with, kept ready-made in raw memory so that a
/// response copies them with no reference counting: the last status line written (by code and
/// handler class) and `Server: <versionString()>` + `Date: <IMF-fixdate>`, rebuilt when the
/// second or the handler class changes.
// callgrind: −360 instructions per keep-alive request, with `writeResponseHeader` and the header
// line check (8,655 → 8,295), against `[UInt8]` lines in optional tuples
// (each use retained and released the array, and the date line was a closure call of its own)
final class ReadyHeadLines {
    // Read on every response, written once a second: no dynamic exclusivity check (nothing here
    // calls out while it writes).
    @exclusivity(unchecked) private var status = RawLine()
    @exclusivity(unchecked) private var statusCode = -1
    @exclusivity(unchecked) private var statusOwner: ObjectIdentifier?
    @exclusivity(unchecked) private var serverAndDate = RawLine()
    @exclusivity(unchecked) private var serverAndDateSecond: Int64 = -1
    @exclusivity(unchecked) private var serverAndDateOwner: ObjectIdentifier?

    /// Bytes in memory of their own, grown when a longer line replaces them; freed with the cache.
    struct RawLine {
        private(set) var base: UnsafeMutableRawPointer?
        private(set) var count = 0
        private var capacity = 0

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

        mutating func replace(with line: [UInt8]) {
            if line.count > capacity {
                base?.deallocate()
                capacity = max(64, line.count)
                base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            }
            line.withUnsafeBytes { base!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            count = line.count
        }

        func free() { base?.deallocate() }
    }

    deinit {
        status.free()
        serverAndDate.free()
    }

    /// The status line for `code` as `owner`'s handler class last made it, if it is the one kept.
    @inline(__always)
    func status(code: Int, owner: ObjectIdentifier) -> UnsafeRawBufferPointer? {
        statusCode == code && statusOwner == owner ? status.bytes : nil
    }

    func keepStatus(_ line: [UInt8], code: Int, owner: ObjectIdentifier) {
        status.replace(with: line)
        statusCode = code
        statusOwner = owner
    }

    /// `Server: …\r\nDate: …\r\n` for `owner` at `second`; `serverLine` is asked only when the
    /// handler class changes.
    @inline(__always)
    func serverAndDate(second: Int64, owner: ObjectIdentifier, serverLine: () -> String) -> UnsafeRawBufferPointer {
        if second != serverAndDateSecond || owner != serverAndDateOwner {
            rebuildServerAndDate(second: second, owner: owner, serverLine: serverLine)
        }
        return serverAndDate.bytes
    }

    private func rebuildServerAndDate(second: Int64, owner: ObjectIdentifier, serverLine: () -> String) {
        var line = Array("Server: \(serverLine())\r\nDate: ".utf8)
        HTTPDate.format(epochSeconds: second, into: &line)
        line.append(13)
        line.append(10)
        serverAndDate.replace(with: line)
        serverAndDateSecond = second
        serverAndDateOwner = owner
    }
}
