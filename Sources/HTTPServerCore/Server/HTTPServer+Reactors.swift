import Glibc
import HTTPServerReactor

// N reactors in one process (`ServerConfiguration.reactors`): starting their threads, stopping
// them, closing them. docs/concurrency.md says who runs what.

extension HTTPServer {
    /// The reactor whose thread this is; reactor 0 on any other thread (and in a server of
    /// in-memory transports, which has one).
    var currentReactor: ServerReactor {
        if reactors.count == 1 { return reactors[0] }
        for reactor in reactors where reactor.loop?.inLoopThread == true { return reactor }
        return reactors[0]
    }

    /// Runs reactor 0's loop on the calling thread and every other reactor's on a thread of its
    /// own; returns when all have stopped (each thread joined). A loop that fails stops the others.
    func runReactors() throws {
        guard let loop else { return }
        var threads: [ReactorThread] = []
        defer { for thread in threads { thread.join() } }
        for reactor in reactors.dropFirst() {
            let thread = ReactorThread(reactor: reactor) { [unowned self] in self.stopLoops() }
            do {
                try thread.start()
            } catch {
                stopLoops()
                throw error
            }
            threads.append(thread)
        }
        do {
            try loop.run()
        } catch {
            stopLoops()
            throw error
        }
        for thread in threads { thread.join() }
        threads = []
        if let failure = reactors.lazy.compactMap(\.failure).first { throw failure }
    }

    /// Stops every loop at once (one of them failed): no graceful close.
    private func stopLoops() {
        for reactor in reactors {
            guard let loop = reactor.loop else { continue }
            if loop.inLoopThread { loop.stop() } else { loop.execute { loop.stop() } }
        }
    }

    /// `shutdown()`'s work.
    func shutdownReactors() {
        guard loop != nil else { return }
        let current = reactors.first { $0.loop?.inLoopThread == true }
        for reactor in reactors {
            if reactor === current {
                beginShutdown(reactor)
            } else {
                reactor.loop?.execute { [unowned self] in self.beginShutdown(reactor) }
            }
        }
        if current == nil { state.waitUntilStopped() }
    }

    private func beginShutdown(_ reactor: ServerReactor) {
        reactor.beginShutdown(listener: listener, gracePeriod: configuration.shutdownGracePeriod)
    }

    /// `serverClose()`'s work.
    func closeReactors() {
        var others: [ServerReactor] = []
        if reactors.count > 1 && state.isServing {
            let current = reactors.first { $0.loop?.inLoopThread == true }
            others = reactors.filter { $0 !== current }
        }
        let listener = self.listener
        if !others.isEmpty {
            let done = CountdownLatch(count: others.count)
            let shared = SharedListener(socket: listener)
            for reactor in others {
                reactor.loop?.execute {
                    reactor.closeAll(listener: shared.socket)
                    done.countDown()
                }
            }
            done.wait(milliseconds: 1000)
        }
        for reactor in reactors where !others.contains(where: { $0 === reactor }) {
            reactor.closeAll(listener: listener)
        }
        if let listener {
            listener.close()
            self.listener = nil
        }
    }

}

/// The listening socket, handed to each reactor's loop to stop accepting there (each only
/// deregisters it from its own loop; the socket itself is closed after they are done).
private struct SharedListener: @unchecked Sendable {
    let socket: ListeningSocket?
}

/// Waits until `count` threads have counted down (or a time has passed).
final class CountdownLatch: @unchecked Sendable {
    private let lock = ConditionLock()
    private var count: Int

    init(count: Int) { self.count = count }

    func countDown() {
        lock.withLock {
            count -= 1
            lock.broadcast()
        }
    }

    /// Returns true when every thread counted down in time.
    @discardableResult
    func wait(milliseconds: Int) -> Bool {
        lock.withLock { lock.wait(until: { count <= 0 }, milliseconds: milliseconds) }
    }
}
