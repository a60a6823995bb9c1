import Glibc
import HTTPServerKit

/// `blocking` mode: a handler that blocks for 10 ms (`usleep`, as a database call would), then
/// answers as `hello`. Served by `ThreadingHTTPServer` (or, with `--threads 0`, `HTTPServer`, to
/// show what one blocking handler does to a reactor).
final class BlockingHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        usleep(10_000)
        sendHello()
    }

    override func logMessage(_ message: String) {}
}

/// `async` mode: an async handler that awaits a 10 ms sleep (`sleep(for:)`, the reactor's timers;
/// `async-task-sleep`: `Task.sleep`, the global executor's), then answers as `hello`.
final class AsyncSleepHandler: AsyncHTTPRequestHandler {
    nonisolated(unsafe) static var usesTaskSleep = false
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() async throws {
        if Self.usesTaskSleep {
            try await Task.sleep(for: .milliseconds(10))
        } else {
            try await sleep(for: .milliseconds(10))
        }
        sendHello()
    }

    override func logMessage(_ message: String) {}
}

/// `async-hello` mode: an async handler that never suspends: the cost of the async path itself.
final class AsyncHelloHandler: AsyncHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() async throws {
        sendHello()
    }

    override func logMessage(_ message: String) {}
}
