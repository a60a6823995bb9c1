import Glibc
import Logging

/// Where log lines go. Lines are buffered and written in batches, so that logging does not cost a
/// system call per request.
public enum LogDestination: Sendable {
    /// Standard error, as Python's `http.server` does.
    case standardError
    /// Nowhere.
    case discard
    /// A function of yours, called with each line (without the trailing newline), on the loop thread.
    case custom(@Sendable (String) -> Void)
    /// An open descriptor of yours (a file opened with `O_APPEND`, say), written as standard error
    /// is; the server does not close it.
    case fileDescriptor(Int32)
    /// A swift-log `Logger`: wherever the application bootstrapped logging (`LoggingSystem`). Each
    /// line is a record with metadata (client address, connection id; for access records also
    /// method, path, status, bytes and duration), passed to the backend on a thread of its own.
    case logger(Logger)
}

/// Buffers log lines for `standardError` and hands them to a `LogWriter` thread at most every few
/// milliseconds or when the buffer fills; `flush()` hands over what is left and waits (briefly) for
/// it to be written (at shutdown). Nothing here waits for standard error or a log backend: the loop
/// never blocks on logging.
final class LogSink {
    var destination: LogDestination
    private var buffer: [UInt8] = []
    private static let flushThreshold = 16 * 1024
    /// Writes standard error and `Logger` records off the loop thread; started on first use. One
    /// for all the reactors of a server: it takes whole lines, so theirs never interleave.
    let writer: LogWriter
    /// The access log's format (ServerConfiguration.accessLogFormat).
    var accessLogFormat: AccessLogFormat = .python

    deinit { writer.stop() }

    /// True when access lines are written when a response is complete (with its status and size)
    /// rather than by `logRequest` (Python's format, at `sendResponse`).
    var logsAccessAtCompletion: Bool {
        if case .logger = destination { return true }
        return accessLogFormat != .python
    }

    /// Passes a record to the `.logger` destination (off the loop thread); nothing for the others.
    func record(_ level: Logger.Level, _ message: String, metadata: () -> Logger.Metadata) {
        guard case .logger(let logger) = destination, logger.logLevel <= level else { return }
        writer.enqueue(.record(logger, level, "\(message)", metadata()))
    }

    init(_ destination: LogDestination, writer: LogWriter = LogWriter()) {
        self.destination = destination
        self.writer = writer
    }

    /// True when `write` would have an effect (so callers can skip building the line).
    var isEnabled: Bool {
        if case .discard = destination { return false }
        return true
    }

    /// Set by the owner: asked to schedule a flush soon after the first buffered line.
    var requestFlush: (() -> Void)?

    func write(_ line: String) {
        switch destination {
        case .discard:
            return
        case .custom(let sink):
            sink(line)
        case .logger(let logger):
            writer.enqueue(.record(logger, .info, "\(line)", nil))
        case .standardError, .fileDescriptor:
            let wasEmpty = buffer.isEmpty
            buffer.append(contentsOf: line.utf8)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= Self.flushThreshold {
                handOver()
            } else if wasEmpty {
                if let requestFlush { requestFlush() } else { handOver() }
            }
        }
    }

    /// Where buffered lines go: standard error, or the descriptor of `.fileDescriptor`.
    private var descriptor: Int32 {
        if case .fileDescriptor(let fd) = destination { return fd }
        return 2
    }

    /// Hands the buffered lines to the writer thread; never waits.
    func handOver() {
        guard !buffer.isEmpty else { return }
        writer.enqueue(.bytes(buffer, fd: descriptor))
        buffer.removeAll(keepingCapacity: true)
    }

    /// Text for standard error as it is (`handleError`'s report), after the lines buffered before it.
    func writeUnformatted(_ text: String) {
        handOver()
        writer.enqueue(.bytes(Array(text.utf8), fd: descriptor))
    }

    /// Hands over what is buffered and waits until it is written, at most 1 s (a pipe nobody reads
    /// must not hold up a shutdown).
    func flush() {
        handOver()
        writer.waitUntilWritten(milliseconds: 1000)
    }
}
