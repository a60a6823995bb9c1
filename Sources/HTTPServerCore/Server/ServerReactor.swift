import Glibc
import HTTPServerReactor

/// One reactor of an `HTTPServer`: an event loop and everything of the server that its
/// connections share (`ConnectionContext`: buffers, caches, timeouts, log buffer, metrics), the
/// connections it serves, and its part of accepting and shutting down.
///
/// A server has `ServerConfiguration.reactors` of them (one for a server of in-memory
/// transports). Reactor 0 runs on the thread that calls `serveForever()`; each other one on a
/// thread `serveForever()` starts. A connection is served from accept to close by the reactor
/// that accepted it: nothing here is touched by another reactor's thread (docs/concurrency.md).
/// `@unchecked Sendable` only so that work for it can be handed to its own loop (`execute`).
final class ServerReactor: @unchecked Sendable {
    /// 0 for the reactor on `serveForever()`'s thread.
    let index: Int
    /// nil for a server of in-memory transports.
    let loop: EventLoop?
    let context: ConnectionContext
    /// Most connections this reactor holds: its share of `maxConnections`.
    let connectionLimit: Int?

    var connections: [ObjectIdentifier: HTTPConnection] = [:]
    /// Connections still reading their PROXY protocol header (HTTPServer+ProxyProtocol.swift).
    var proxyHeaderStages: [ObjectIdentifier: ProxyHeaderStage] = [:]
    /// At `connectionLimit`: this loop no longer accepts (another reactor's may).
    var isAcceptingPaused = false
    var isShuttingDown = false
    private var graceTimer: Timer?
    /// Publishes the metrics every second (HTTPServer+Metrics.swift).
    var metricsTimer: Timer?
    /// What ended this reactor's loop with an error, on a thread of its own (read after the join).
    var failure: (any Error)?

    init(index: Int, loop: EventLoop?, context: ConnectionContext, connectionLimit: Int?) {
        self.index = index
        self.loop = loop
        self.context = context
        self.connectionLimit = connectionLimit
    }

    /// Stops accepting, lets responses in flight finish (closing each connection after its current
    /// response, idle ones at once), and stops the loop when all are closed or the grace period is
    /// over. On this reactor's thread.
    func beginShutdown(listener: ListeningSocket?, gracePeriod: Duration) {
        guard let loop, !isShuttingDown else { return }
        isShuttingDown = true
        if let listener { loop.stopAccepting(listener) }
        for stage in Array(proxyHeaderStages.values) { stage.fail() }
        if connections.isEmpty {
            finishShutdown()
            return
        }
        let timer = Timer { [unowned self] in
            for connection in Array(self.connections.values) { connection.close() }
            self.finishShutdown()
        }
        graceTimer = timer
        loop.arm(timer, at: loop.now.advanced(by: gracePeriod))
        for connection in Array(connections.values) { connection.closeGracefully() }
    }

    /// The last connection has closed (or the grace period is over): the loop stops.
    func finishShutdown() {
        guard let loop else { return }
        if let graceTimer { loop.disarm(graceTimer) }
        graceTimer = nil
        isShuttingDown = false
        loop.stop()
    }

    /// `serverClose()`'s part on this reactor: stops accepting, closes every connection, writes
    /// the log. On this reactor's thread, or when its loop is not running.
    func closeAll(listener: ListeningSocket?) {
        if let listener { loop?.stopAccepting(listener) }
        for stage in Array(proxyHeaderStages.values) { stage.fail() }
        for connection in Array(connections.values) { connection.close() }
        connections.removeAll()
        context.log.flush()
    }

    /// The open HTTP connections' states, by name, for the metrics.
    var connectionStateCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for connection in connections.values { counts[connection.state.name, default: 0] += 1 }
        return counts
    }
}

/// Runs one reactor's loop on a thread of its own (reactors 1…N-1 of `serveForever()`).
final class ReactorThread {
    private let reactor: ServerReactor
    private let onFailure: () -> Void
    private var thread: pthread_t?

    init(reactor: ServerReactor, onFailure: @escaping () -> Void) {
        self.reactor = reactor
        self.onFailure = onFailure
    }

    /// Starts the thread; throws when the system has no thread to give.
    func start() throws {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let me = Unmanaged<ReactorThread>.fromOpaque(argument!).takeRetainedValue()
            me.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<ReactorThread>.fromOpaque(box).release()
            throw SystemError(call: "pthread_create", errno: result)
        }
        self.thread = thread
    }

    private func run() {
        guard let loop = reactor.loop else { return }
        // `top -H`, `ps -L` and /proc/PID/task/*/comm show which thread is which reactor.
        nameCurrentThread("reactor-\(reactor.index)")
        do {
            try loop.run()
        } catch {
            reactor.failure = error
            onFailure()
        }
        reactor.context.log.flush()
    }

    /// Waits until the loop has returned.
    func join() {
        guard let thread else { return }
        self.thread = nil
        pthread_join(thread, nil)
    }
}

/// Names the calling thread (its `comm`, at most 15 bytes), as pthread_setname_np would, which
/// Glibc's Swift module does not export. A thread inherits its creator's name: the server's
/// helper threads name themselves, so that only reactors are called `reactor-<i>`.
func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    var name = name
    name.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}
