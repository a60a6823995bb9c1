import Glibc

/// Where log lines go. Lines are buffered and written in batches, so that logging does not cost a
/// system call per request.
public enum LogDestination: Sendable {
    /// Standard error, as Python's `http.server` does.
    case standardError
    /// Nowhere.
    case discard
    /// A function of yours, called with each line (without the trailing newline), on the loop thread.
    case custom(@Sendable (String) -> Void)
}

/// Buffers log lines for `standardError` and writes them at most every few milliseconds or when
/// the buffer fills; `flush()` writes what is left (at shutdown).
final class LogSink {
    var destination: LogDestination
    private var buffer: [UInt8] = []
    private static let flushThreshold = 16 * 1024

    init(_ destination: LogDestination) {
        self.destination = destination
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
        case .standardError:
            let wasEmpty = buffer.isEmpty
            buffer.append(contentsOf: line.utf8)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= Self.flushThreshold {
                flush()
            } else if wasEmpty {
                if let requestFlush { requestFlush() } else { flush() }
            }
        }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
        buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
    }
}
