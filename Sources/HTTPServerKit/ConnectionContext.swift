import HTTP1
import Reactor

/// What the connections of one loop share: configuration, clock, buffers, the `Date` cache, the log.
/// Everything here is used on the loop thread only.
final class ConnectionContext {
    let configuration: ServerConfiguration
    let clock: TimerScheduler
    /// Seconds since the epoch, for `Date` headers and log lines. Injectable for tests.
    let wallClock: () -> Int64
    let pool = BufferPool()
    var dateCache = DateCache()
    let log: LogSink
    let makeHandler: () -> BaseHTTPRequestHandler
    unowned(unsafe) var server: HTTPServer?
    /// Connections that are open, for shutdown and accounting.
    var connections: Set<ObjectIdentifier> = []
    var onConnectionClosed: ((HTTPConnection) -> Void)?
    var handleError: (any Error, SocketAddress?) -> Void

    init(configuration: ServerConfiguration, clock: TimerScheduler, wallClock: @escaping () -> Int64,
         log: LogSink, server: HTTPServer?, makeHandler: @escaping () -> BaseHTTPRequestHandler,
         handleError: @escaping (any Error, SocketAddress?) -> Void) {
        self.configuration = configuration
        self.clock = clock
        self.wallClock = wallClock
        self.log = log
        self.server = server
        self.makeHandler = makeHandler
        self.handleError = handleError
    }

    /// The 29 bytes of the current `Date` header value, formatted at most once a second.
    func dateBytes() -> ArraySlice<UInt8> {
        dateCache.bytes(epochSeconds: wallClock())
    }
}
