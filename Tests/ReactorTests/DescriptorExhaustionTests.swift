import Glibc
import Testing
@testable import Reactor

extension ReactorTests {
/// Real EMFILE: RLIMIT_NOFILE is per process, so the scenario runs in a child copy of this test
/// binary (lowering the limit here could break tests running in parallel).
@Suite struct DescriptorExhaustionTests {
    static let childVariable = "REACTOR_EMFILE_CHILD"

    @Test func realEMFILEPausesAcceptingInAChildProcess() throws {
        guard getenv(Self.childVariable) == nil else { return }
        var arguments = ["/proc/self/exe", "--testing-library", "swift-testing",
                         "--filter", "emfileScenarioRunsOnlyInTheChild"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("\(Self.childVariable)=1")]
        var cursor = environ
        while let entry = cursor.pointee { environment.append(strdup(entry)); cursor += 1 }
        environment.append(nil)
        defer { environment.forEach { free($0) } }
        // The child's own test output is noise here; its exit status is the verdict. To see it:
        // REACTOR_EMFILE_CHILD=1 swift test --filter emfileScenarioRunsOnlyInTheChild
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, &environment)
        try #require(spawned == 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "child status \(status)")
        arguments.removeAll()
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
