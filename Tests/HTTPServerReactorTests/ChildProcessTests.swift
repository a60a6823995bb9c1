import Glibc
import Testing
@testable import HTTPServerReactor

extension ReactorTests {
    /// `ChildProcess`, `PipeReader` and `PipeWriter` on a real loop with real processes.
    @Suite struct ChildProcessTests {
        /// What a run of a child collected.
        final class Run {
            var output: [UInt8] = []
            var errors: [UInt8] = []
            var termination: ChildProcess.Termination?
            var outputEnded = false
            var errorsEnded = false

            var text: String { String(decoding: output, as: UTF8.self) }
        }

        /// Spawns, feeds `input`, collects everything until exit and both ends of file, then closes.
        static func run(_ options: ChildProcess.Options, input: [UInt8] = [], on loop: EventLoop) throws -> (Run, ChildProcess) {
            let run = Run()
            let child = try ChildProcess.spawn(options, on: loop)
            func check() {
                if run.termination != nil && run.outputEnded && run.errorsEnded { loop.stop() }
            }
            child.onExit = { run.termination = $0; check() }
            child.standardOutput.start(onData: { run.output.append(contentsOf: $0) },
                                       onEnd: { _ in run.outputEnded = true; check() })
            child.standardError.start(onData: { run.errors.append(contentsOf: $0) },
                                      onEnd: { _ in run.errorsEnded = true; check() })
            input.withUnsafeBytes { child.standardInput.write($0) }
            child.standardInput.finish()
            #expect(try runLoop(loop, limit: .seconds(10)))
            child.close()
            return (run, child)
        }

        static func options(_ arguments: [String], environment: [String] = ["PATH=/usr/bin:/bin"]) -> ChildProcess.Options {
            ChildProcess.Options(executable: arguments[0], arguments: arguments, environment: environment)
        }

        /// `kill(pid, 0)`: false once the pid is gone (reaped), true while it runs or is a zombie.
        static func exists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

        /// The state letter of /proc/PID/stat (`Z` for a zombie), or nil when there is no such process.
        static func state(_ pid: Int32) -> Character? {
            guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 1024)
            guard fgets(&line, Int32(line.count), file) != nil else { return nil }
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let close = text.lastIndex(of: ")") else { return nil }
            return text[text.index(close, offsetBy: 2)...].first
        }

        @Test func stdinStreamsToStdoutStderrIsSeparateAndTheExitStatusIsReported() throws {
            let loop = try EventLoop()
            let input = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let (run, child) = try Self.run(Self.options(["/bin/sh", "-c", "cat; echo oops >&2; exit 3"]), input: input, on: loop)
            #expect(run.output == input)
            #expect(String(decoding: run.errors, as: UTF8.self) == "oops\n")
            #expect(run.termination == .exited(3))
            #expect(run.termination?.exitCode == 3)
            #expect(child.isReaped)
            #expect(!Self.exists(child.pid))
        }

        @Test func theEnvironmentIsExactlyTheOneGiven() throws {
            let loop = try EventLoop()
            let (run, _) = try Self.run(Self.options(["/usr/bin/env"], environment: ["B=2", "A=one two"]), on: loop)
            #expect(run.text == "B=2\nA=one two\n")
        }

        @Test func argumentsArePassedWithoutAShell() throws {
            let loop = try EventLoop()
            let (run, _) = try Self.run(Self.options(["/bin/echo", "$(id)", "a;b", "*"]), on: loop)
            #expect(run.text == "$(id) a;b *\n")
        }

        @Test func searchesPathWhenAsked() throws {
            let loop = try EventLoop()
            var options = Self.options(["echo", "found"])
            options.searchesPath = true
            let (run, _) = try Self.run(options, on: loop)
            #expect(run.text == "found\n")
        }

        @Test func theChildGetsOnlyDescriptorsZeroToTwoAnEmptySignalMaskAndDefaultDispositions() throws {
            let loop = try EventLoop()
            // A descriptor without close-on-exec in the parent must not reach the child either.
            let leaky = open("/dev/null", O_RDONLY)
            defer { close(leaky) }
            // Block a signal on this thread and ignore SIGPIPE (the loop did): neither may be inherited.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR2)
            var old = sigset_t()
            pthread_sigmask(SIG_BLOCK, &set, &old)
            defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
            let (fds, _) = try Self.run(Self.options(["/bin/ls", "/proc/self/fd"]), on: loop)
            // ls has the directory open as 3 while it lists it.
            #expect(fds.text.split(separator: "\n") == ["0", "1", "2", "3"])
            let (status, _) = try Self.run(Self.options(["/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]), on: loop)
            let masks = status.text.split(separator: "\n").map { line in
                (String(line.prefix(6)), UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? .max)
            }
            #expect(masks.count == 2 && masks[0] == ("SigBlk", 0))
            // 1-31 at their defaults; glibc sets its two internal real-time signals (32, 33) to
            // SIG_IGN in every posix_spawn child, and refuses to let them be named.
            #expect(masks.count == 2 && masks[1].0 == "SigIgn" && masks[1].1 & 0x7FFF_FFFF == 0)
        }

        @Test func spawnFailuresAreReportedAndLeakNothing() throws {
            let loop = try EventLoop()
            let plain = "/tmp/child-process-test-\(getpid())"
            close(open(plain, O_CREAT | O_WRONLY | O_TRUNC, 0o644))
            defer { unlink(plain) }
            let before = openDescriptorCount()
            // Repeated, so that a leak (three pipes and a pidfd per attempt) shows above what the
            // suites running in parallel open meanwhile.
            for _ in 0..<50 {
                #expect(throws: SystemError(call: "posix_spawn", errno: ENOENT)) {
                    try ChildProcess.spawn(Self.options(["/nonexistent/program"]), on: loop)
                }
                chmod(plain, 0o644)
                #expect(throws: SystemError(call: "posix_spawn", errno: EACCES)) {
                    try ChildProcess.spawn(Self.options([plain]), on: loop)
                }
                chmod(plain, 0o755)   // executable, but neither ELF nor #!: no shell is tried
                #expect(throws: SystemError(call: "posix_spawn", errno: ENOEXEC)) {
                    try ChildProcess.spawn(Self.options([plain]), on: loop)
                }
            }
            #expect(openDescriptorCount() < before + 100, "\(openDescriptorCount() - before) descriptors more after 150 failed spawns")
        }

        @Test func anExitedChildStaysAZombieUntilClosedThenIsReaped() throws {
            let loop = try EventLoop()
            let child = try ChildProcess.spawn(Self.options(["/bin/true"]), on: loop)
            var ended: ChildProcess.Termination?
            child.onExit = { ended = $0; loop.stop() }
            child.standardOutput.start(onData: { _ in }, onEnd: { _ in })
            #expect(try runLoop(loop))
            #expect(ended == .exited(0))
            #expect(Self.state(child.pid) == "Z")
            child.close()
            #expect(child.isReaped)
            #expect(Self.state(child.pid) == nil)
        }

        @Test func terminateKillsTheWholeProcessGroupAndReaps() throws {
            let loop = try EventLoop()
            let before = openDescriptorCount()
            // Repeated, so that a leak shows above what parallel suites open meanwhile.
            for _ in 0..<25 { try terminateOnce(loop) }
            #expect(openDescriptorCount() < before + 50, "\(openDescriptorCount() - before) descriptors more after 25 runs")
        }

        private func terminateOnce(_ loop: EventLoop) throws {
            // The shell starts a background sleep (same group) and waits; the pid of the sleep is printed.
            let child = try ChildProcess.spawn(Self.options(["/bin/sh", "-c", "sleep 30 & echo $!; wait"]), on: loop)
            var line: [UInt8] = []
            child.standardOutput.start(onData: { bytes in
                line.append(contentsOf: bytes)
                if line.last == 10 { loop.stop() }
            }, onEnd: { _ in loop.stop() })
            #expect(try runLoop(loop))
            let grandchild = Int32(String(decoding: line.dropLast(), as: UTF8.self)) ?? -1
            #expect(grandchild > 0 && Self.exists(grandchild))
            child.terminate()
            // The loop reaps the shell when its pidfd says it is gone.
            let deadline = Instant.now().advanced(by: .seconds(5))
            while !child.isReaped && Instant.now() < deadline {
                let poll = Timer { loop.stop() }
                loop.arm(poll, after: .milliseconds(5))
                try loop.run()
            }
            #expect(child.isReaped)
            #expect(!Self.exists(child.pid))
            // The sleep was killed too; it was reparented (to init or a subreaper) and reaped there.
            var gone = false
            for _ in 0..<200 where !gone {
                gone = Self.state(grandchild) == nil || Self.state(grandchild) == "Z"
                if !gone { usleep(10_000) }
            }
            #expect(gone)
        }

        @Test func aPausedReaderStopsTheChildAndResumingDeliversEverything() throws {
            let loop = try EventLoop()
            let child = try ChildProcess.spawn(Self.options(["/bin/sh", "-c", "head -c 4000000 /dev/zero"]), on: loop)
            var received = 0
            var ended = false
            var exited = false
            child.onExit = { _ in exited = true }
            child.standardOutput.start(onData: { received += $0.count }, onEnd: { _ in ended = true; loop.stop() })
            child.standardOutput.pause()
            // Paused: the child fills the pipe and blocks; it cannot finish.
            let wait = Timer { loop.stop() }
            loop.arm(wait, after: .milliseconds(300))
            try loop.run()
            #expect(received == 0)
            #expect(!exited)
            child.standardOutput.resume()
            #expect(try runLoop(loop))
            #expect(ended && received == 4_000_000)
            child.close()
        }

        @Test func writingToAChildThatStoppedReadingFailsWithEPIPE() throws {
            let loop = try EventLoop()
            let child = try ChildProcess.spawn(Self.options(["/bin/true"]), on: loop)
            var failure: SystemError?
            child.onExit = { _ in loop.stop() }
            #expect(try runLoop(loop))
            child.standardInput.onFailure = { failure = $0 }
            let block = [UInt8](repeating: 7, count: 1 << 20)
            block.withUnsafeBytes { child.standardInput.write($0) }
            #expect(failure?.errno == EPIPE)
            #expect(child.standardInput.isClosed)
            child.close()
        }

        @Test func asRootTheChildRunsAsTheGivenUserWithoutGroupsAndTheThreadKeepsItsOwn() throws {
            guard ChildProcess.isRunningAsRoot, let nobody = ChildProcess.user(named: "nobody") else { return }
            let loop = try EventLoop()
            let groupsBefore = Self.groups()
            var options = Self.options(["/usr/bin/id"])
            options.user = nobody
            let (run, _) = try Self.run(options, on: loop)
            #expect(run.text == "uid=\(nobody.uid)(nobody) gid=\(nobody.gid)(\(Self.groupName(nobody.gid))) groups=\(nobody.gid)(\(Self.groupName(nobody.gid)))\n")
            #expect(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0)
            #expect(Self.groups() == groupsBefore)
        }

        static func groups() -> [gid_t] {
            var list = [gid_t](repeating: 0, count: 256)
            let count = getgroups(Int32(list.count), &list)
            return Array(list.prefix(Int(max(count, 0))))
        }

        static func groupName(_ gid: UInt32) -> String {
            guard let entry = getgrgid(gid) else { return String(gid) }
            return String(cString: entry.pointee.gr_name)
        }
    }
}
