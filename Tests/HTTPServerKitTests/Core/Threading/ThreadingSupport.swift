import Foundation
@testable import HTTPServerCore
import HTTPServerTesting

/// A gate a handler on a worker waits at until the test opens it.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false
    private var waiting = 0

    func open() {
        condition.lock(); isOpen = true; condition.broadcast(); condition.unlock()
    }

    /// Waits until the gate opens (at most 10 s, so that a failing test ends).
    func pass() {
        condition.lock()
        waiting += 1
        condition.broadcast()
        while !isOpen {
            if !condition.wait(until: Date().addingTimeInterval(10)) { break }
        }
        waiting -= 1
        condition.unlock()
    }

    /// Handlers waiting at the gate now.
    var waitingCount: Int { condition.lock(); defer { condition.unlock() }; return waiting }
}

/// Counters and flags written by handlers on workers and read by the test.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var maxima: [String: Int] = [:]
    private var threads: Set<UInt> = []

    func add(_ name: String, _ delta: Int = 1) {
        lock.lock()
        counts[name, default: 0] += delta
        maxima[name] = max(maxima[name, default: 0], counts[name]!)
        lock.unlock()
    }
    subscript(_ name: String) -> Int { lock.lock(); defer { lock.unlock() }; return counts[name, default: 0] }
    func maximum(_ name: String) -> Int { lock.lock(); defer { lock.unlock() }; return maxima[name, default: 0] }
    func noteThread() { lock.lock(); threads.insert(UInt(pthread_self())); lock.unlock() }
    var threadIDs: Set<UInt> { lock.lock(); defer { lock.unlock() }; return threads }
}

/// An in-memory `ThreadingHTTPServer` and its fake connections; the test's thread is the reactor.
final class ThreadingHarness {
    let server: ThreadingHTTPServer

    init(configuration: ServerConfiguration = ServerConfiguration(),
         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        server = try ThreadingHTTPServer(clock: ManualClock(), wallClock: { TestClient.defaultWallClock },
                                         configuration: configuration, logDestination: .discard,
                                         handlerFactory: handlerFactory)
    }

    func connect() -> FakeTransport {
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        return transport
    }

    /// Runs what the workers post for the reactor until `isDone()`.
    @discardableResult
    func run(timeout: Duration = .seconds(10), until isDone: () -> Bool) -> Bool {
        server.runPostedWork(timeout: timeout, until: isDone)
    }

    /// Runs posted work for `duration` (to show that something does not happen).
    func idle(for duration: Duration) {
        server.runPostedWork(timeout: duration) { false }
    }

    /// The complete responses in `transport`'s written bytes.
    static func responses(_ transport: FakeTransport, atEOF: Bool = false) -> [TestResponse] {
        (try? ResponseReader.parse(transport.written, atEOF: atEOF).responses) ?? []
    }
}
