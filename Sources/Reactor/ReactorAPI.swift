// CONTRACT STUB — the Reactor helper replaces these bodies (and splits the file, one type per file).
// Signatures here are what HTTPServerKit, HTTPServerTesting and Benchmarks code against.
import CReactor

/// A failed system call: the call's name and its errno.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public init(call: String, errno: Int32) { self.call = call; self.errno = errno }
    /// `"bind: Address already in use"`.
    public var description: String { fatalError("stub") }
}

/// What a nonblocking I/O call did.
public enum IOResult: Equatable, Sendable {
    case wouldBlock
    case processed(Int)
}

/// An owned descriptor, closed when it goes away.
public struct FileDescriptor: ~Copyable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// Gives up ownership without closing.
    public consuming func release() -> Int32 { fatalError("stub") }
    deinit { }
    /// open(2) read-only, O_CLOEXEC.
    public static func openForReading(_ path: String) throws(SystemError) -> FileDescriptor { fatalError("stub") }
}

/// A point on the monotonic clock, in nanoseconds.
public struct Instant: Comparable, Hashable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    public func advanced(by duration: Duration) -> Instant { fatalError("stub") }
    /// CLOCK_MONOTONIC now.
    public static func now() -> Instant { fatalError("stub") }
}

/// A one-shot timer that a scheduler fires at a deadline. Allocated once by its owner and re-armed
/// as often as needed: arming, re-arming and disarming are O(1) or O(log n) and allocate nothing.
public final class Timer {
    public let action: () -> Void
    /// When armed, the deadline; nil when not armed.
    public internal(set) var deadline: Instant?
    public init(_ action: @escaping () -> Void) { self.action = action }
}

/// Where time comes from: the event loop, or a manual clock in tests.
public protocol TimerScheduler: AnyObject {
    var now: Instant { get }
    func arm(_ timer: Timer, at deadline: Instant)
    func disarm(_ timer: Timer)
}

/// A byte stream to a peer: the epoll socket, or a fake one in tests.
public protocol Transport: AnyObject {
    /// Held strongly until `close()`, which releases it (the loop registration owns the transport).
    var delegate: TransportDelegate? { get set }
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult
    /// One gathering write (writev) of several buffers.
    func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult
    /// sendfile(2) of `range` of `fd`.
    func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult
    func pauseReading()
    func resumeReading()
    /// Asks for one `transportWritable()` call when the peer can take more bytes (arms EPOLLOUT).
    func awaitWritable()
    /// shutdown(SHUT_WR): the peer sees end of stream; reading goes on.
    func shutdownWrite()
    /// Closes; the delegate is told nothing more and is released.
    func close()
}

/// What a transport tells its owner. Called on the loop thread.
public protocol TransportDelegate: AnyObject {
    /// Bytes valid only during the call.
    func bytesReceived(_ bytes: UnsafeRawBufferPointer)
    /// The peer half-closed (read returned 0).
    func endOfInput()
    /// After `awaitWritable()`: the socket can take more.
    func transportWritable()
    /// A read or write failed (ECONNRESET, EPIPE...). The owner closes the transport.
    func transportFailed(_ error: SystemError)
}

/// An IPv4 or IPv6 socket address.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// Numeric host, e.g. "127.0.0.1" or "::1".
    public var host: String { fatalError("stub") }
    public var port: Int { fatalError("stub") }
    public var isIPv6: Bool { fatalError("stub") }
    /// "127.0.0.1:8000" or "[::1]:8000".
    public var description: String { fatalError("stub") }
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool { fatalError("stub") }
    public func hash(into hasher: inout Hasher) { fatalError("stub") }
    /// getaddrinfo (numeric or name; "" means the wildcard address, IPv6 first when `preferIPv6`).
    public static func resolve(host: String, port: Int, passive: Bool) throws(SystemError) -> [SocketAddress] { fatalError("stub") }
}

/// A nonblocking listening TCP socket.
public final class ListeningSocket {
    public init(address: SocketAddress, reuseAddress: Bool = true, reusePort: Bool = false,
                backlog: Int32 = 4096, ipv6Only: Bool? = nil) throws(SystemError) { fatalError("stub") }
    public var localAddress: SocketAddress { fatalError("stub") }
    public var fd: Int32 { fatalError("stub") }
    public func close() { fatalError("stub") }
}

/// The single-threaded epoll reactor.
public final class EventLoop: TimerScheduler, @unchecked Sendable {
    public init() throws(SystemError) { fatalError("stub") }
    /// The loop's cached monotonic time (refreshed once per wake-up).
    public var now: Instant { fatalError("stub") }
    public func arm(_ timer: Timer, at deadline: Instant) { fatalError("stub") }
    public func disarm(_ timer: Timer) { fatalError("stub") }
    /// Runs until `stop()`.
    public func run() throws(SystemError) { fatalError("stub") }
    /// Ends `run()` after the current wake-up. Loop thread only; from elsewhere use `execute { loop.stop() }`.
    public func stop() { fatalError("stub") }
    /// Runs `work` on the loop thread soon. Safe from any thread (eventfd wake-up).
    public func execute(_ work: @escaping @Sendable () -> Void) { fatalError("stub") }
    /// True on the thread running `run()`.
    public var inLoopThread: Bool { fatalError("stub") }
    /// Accepts connections from `listener` (accept4 until EAGAIN, at most `maxPerWakeup` a wake-up;
    /// EMFILE/ENFILE pause accepting and retry after a delay). Each accepted socket is nonblocking,
    /// with TCP_NODELAY, and handed over as a transport not yet reading: set its delegate, then `start()`.
    public func startAccepting(_ listener: ListeningSocket, maxPerWakeup: Int = 64,
                               _ onAccept: @escaping (SocketTransport, SocketAddress) -> Void) throws(SystemError) { fatalError("stub") }
    public func stopAccepting(_ listener: ListeningSocket) { fatalError("stub") }
    /// Calls `handler` on the loop thread when `signal` arrives (signalfd; the signal is blocked for the process).
    public func onSignal(_ signal: Int32, _ handler: @escaping () -> Void) throws(SystemError) { fatalError("stub") }
}

/// A connected TCP socket on the loop.
public final class SocketTransport: Transport {
    public var delegate: TransportDelegate? { get { fatalError("stub") } set { fatalError("stub") } }
    public var fd: Int32 { fatalError("stub") }
    /// Takes ownership of a connected socket descriptor.
    public init(loop: EventLoop, fd: Int32) { fatalError("stub") }
    /// Connects (blocking connect, then nonblocking with TCP_NODELAY). For clients and tests.
    public static func connect(loop: EventLoop, to address: SocketAddress) throws(SystemError) -> SocketTransport { fatalError("stub") }
    /// Registers with the loop and starts reading.
    public func start() throws(SystemError) { fatalError("stub") }
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult { fatalError("stub") }
    public func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult { fatalError("stub") }
    public func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult { fatalError("stub") }
    public func pauseReading() { fatalError("stub") }
    public func resumeReading() { fatalError("stub") }
    public func awaitWritable() { fatalError("stub") }
    public func shutdownWrite() { fatalError("stub") }
    public func close() { fatalError("stub") }
}
