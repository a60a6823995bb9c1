import Glibc

/// The log lines a server and its handlers wrote, captured for assertions.
///
/// A ``TestClient`` sends its server's log here: the access log (`logRequest`), `logMessage` and
/// `logError` lines of handlers, the server's own complaints ("handler sent no response"), and the
/// report of a handler that threw (`handleError`). Each line is kept without its trailing newline.
///
/// In loopback mode lines are written on the server's thread; reading them is safe from any thread.
public final class LogCapture: @unchecked Sendable {
    private var storage: [String] = []
    private var mutex = pthread_mutex_t()

    /// An empty capture.
    public init() {
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
    }

    /// Every line captured so far, oldest first.
    public var lines: [String] {
        locked { storage }
    }

    /// Whether some captured line contains `text`.
    public func contains(_ text: String) -> Bool {
        locked { storage.contains { $0.contains(text) } }
    }

    /// The lines captured since the last call (all of them on the first call), and forgets them.
    public func take() -> [String] {
        locked {
            defer { storage.removeAll() }
            return storage
        }
    }

    /// Forgets every line captured so far.
    public func removeAll() {
        locked { storage.removeAll() }
    }

    func append(_ line: String) {
        locked { storage.append(line) }
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
