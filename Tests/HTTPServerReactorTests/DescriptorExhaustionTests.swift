import Glibc
import Testing
@testable import HTTPServerReactor

extension ReactorTests {
/// Real EMFILE: RLIMIT_NOFILE is per process, so the scenario runs in a child copy of this test
/// binary (lowering the limit here could break tests running in parallel).
@Suite struct DescriptorExhaustionTests {
    static let childVariable = "REACTOR_EMFILE_CHILD"

    @Test func realEMFILEPausesAcceptingInAChildProcess() throws {
        guard getenv(Self.childVariable) == nil else { return }
        // To see the child's output: REACTOR_EMFILE_CHILD=1 swift test --filter emfileScenarioRunsOnlyInTheChild
        #expect(try runTestInChildProcess(filter: "emfileScenarioRunsOnlyInTheChild",
                                          environment: ["\(Self.childVariable)=1"]))
    }

    @Test func emfileScenarioRunsOnlyInTheChild() throws {
        guard getenv(Self.childVariable) != nil else { return }
        let loop = try EventLoop()
        loop.acceptRetryDelay = .milliseconds(20)
        let listener = try makeListener()
        // Three connections wait in the backlog.
        let clients = try (0..<3).map { _ in try SocketTransport.connect(loop: loop, to: listener.localAddress) }

        // Leave exactly one free descriptor number: the lowest free one.
        let lowestFree = dup(0)
        close(lowestFree)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let saved = limit
        limit.rlim_cur = rlim_t(lowestFree + 1)
        try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        defer { var restore = saved; setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore) }

        var calls = 0
        var emfiles = 0
        var accepted: [SocketTransport] = []
        let acceptor = try loop.startAccepting(listener, maxPerWakeup: 64, accept: { fd, address, length in
            calls += 1
            let result = systemAccept(fd, &address, &length)
            if result == -EMFILE { emfiles += 1 }
            return result
        }) { transport, _ in
            accepted.append(transport)
            if accepted.count == 3 { loop.stop() }
        }
        // Every 60 ms free the descriptor of the oldest accepted connection: accepting must resume by itself.
        var freer: Timer!
        freer = Timer {
            accepted.first { $0.fd >= 0 }?.close()
            loop.arm(freer, after: .milliseconds(60))
        }
        loop.arm(freer, after: .milliseconds(60))
        #expect(try runLoop(loop))
        #expect(accepted.count == 3)
        #expect(emfiles >= 2)
        #expect(acceptor.pauseCount == emfiles)
        // ~120 ms of exhaustion at a 20 ms retry: a handful of calls, not a busy loop.
        #expect(calls < 40, "accept called \(calls) times")
        accepted.forEach { $0.close() }
        clients.forEach { $0.close() }
        listener.close()
    }
}
}
