import CHTTPServerReactor

/// A child process on the loop: started with `posix_spawn` (never a shell), its standard input,
/// output and error as nonblocking pipes, and its end noticed and reaped through a pidfd — no
/// SIGCHLD handler, no signal mask to coordinate with other threads, no zombies.
///
/// Life cycle:
/// 1. `spawn` starts the process (in a process group of its own by default) and registers its
///    pidfd. `standardInput`, `standardOutput` and `standardError` are ready to use.
/// 2. When the process exits, `onExit` is called with how it ended. It is left a zombie until the
///    owner calls `close()`: while it is one, its pid — and so its process group ID — cannot be
///    reused, so `signal(_:)` can still reach whatever it left running in its group.
/// 3. `close()` closes the pipes and reaps the process, at once if it has exited, otherwise as soon
///    as it does (the loop keeps the object until then). `terminate()` is `signal(SIGKILL)` then
///    `close()`.
///
/// A `ChildProcess` dropped with its loop while the process still runs kills it and waits for it,
/// so nothing is left behind.
public final class ChildProcess: EventHandler {
    /// Which user the child runs as; for a server running as root (Python's CGI runs scripts as
    /// `nobody`).
    public struct User: Equatable, Sendable {
        /// The user ID the child runs as (`setuid`).
        public var uid: UInt32
        /// The group ID the child runs as (`setgid`).
        public var gid: UInt32
        /// The user with these IDs, e.g. `nobody`'s as `getpwnam` gives them.
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
    }

    /// What to start.
    public struct Options: Sendable {
        /// The program: a path, or with `searchesPath` a name looked up in the server's `PATH`.
        public var executable: String
        /// `argv`, `argv[0]` included.
        public var arguments: [String]
        /// The whole environment, as `NAME=value` strings (nothing is inherited implicitly).
        public var environment: [String]
        /// Look `executable` up in `PATH` (posix_spawnp) as the child's user would.
        public var searchesPath = false
        /// Run as this user (uid, gid, no supplementary groups). Needs root; nil: as the server.
        public var user: User?
        /// Put the child in a new process group, so that `signal(_:)` reaches what it starts too.
        public var createsProcessGroup = true

        /// Options to run `executable` with these arguments and exactly this environment; the other options
        /// take their defaults (no `PATH` search, the server's user, a new process group).
        public init(executable: String, arguments: [String], environment: [String]) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
        }
    }

    /// How the process ended.
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        /// The process called `exit` with this status (`WIFEXITED`).
        case exited(Int32)
        /// A signal with this number ended the process (`WIFSIGNALED`).
        case signaled(Int32)

        /// Python's `os.waitstatus_to_exitcode`: the exit status, or minus the signal number.
        public var exitCode: Int32 {
            switch self {
            case .exited(let code): return code
            case .signaled(let signal): return -signal
            }
        }

        /// "exit status 1" or "signal 9", for log lines.
        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signaled(let signal): return "signal \(signal)"
            }
        }
    }

    /// The process ID (also its process group ID, with `createsProcessGroup`).
    public let pid: Int32
    /// The child's standard input.
    public let standardInput: PipeWriter
    /// The child's standard output.
    public let standardOutput: PipeReader
    /// The child's standard error.
    public let standardError: PipeReader
    /// How the process ended, once it has.
    public private(set) var termination: Termination?
    /// True once the process has been reaped.
    public private(set) var isReaped = false
    /// Called once, on the loop thread, when the process exits (before it is reaped).
    public var onExit: ((Termination) -> Void)?

    private let loopLink: EventLoop.Link
    private var loop: EventLoop? { loopLink.loop }
    private var pidfd: Int32
    private var registration: Registration?
    private let hasOwnGroup: Bool
    private var isClosed = false

    private init(pid: Int32, pidfd: Int32, hasOwnGroup: Bool, loop: EventLoop,
                 standardInput: PipeWriter, standardOutput: PipeReader, standardError: PipeReader) {
        self.pid = pid
        self.pidfd = pidfd
        self.hasOwnGroup = hasOwnGroup
        self.loopLink = loop.link
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    deinit {
        // Only reached unreaped when the loop that held us went away: leave nothing running.
        if !isReaped {
            if termination == nil { _ = sendSignal(SIGKILL) }
            _ = creactor_reap_blocking(pid)
        }
        if pidfd >= 0 { _ = CHTTPServerReactor.close(pidfd) }
    }

    // MARK: Control

    /// Sends `signal` to the process, or to its whole process group when it has one. Does nothing
    /// once the process has been reaped (its pid may belong to someone else by then).
    public func signal(_ signal: Int32) {
        guard !isReaped else { return }
        _ = sendSignal(signal)
    }

    private func sendSignal(_ signal: Int32) -> Int32 {
        if hasOwnGroup {
            let error = creactor_kill_group(pid, signal)
            // ESRCH: the group is empty (the leader, a zombie, is no member); nothing to do.
            if error != ESRCH { return error }
        }
        return creactor_pidfd_signal(pidfd, signal)
    }

    /// Done with the process: closes the pipes, and reaps the process now if it has exited, or as
    /// soon as it does. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onExit = nil
        standardInput.close()
        standardOutput.close()
        standardError.close()
        if termination != nil { reap() }
    }

    /// Kills the process and its group (SIGKILL) and closes: it is reaped as soon as it is gone.
    public func terminate() {
        signal(SIGKILL)
        close()
    }

    // MARK: EventHandler (the pidfd)

    public func readable() {
        guard termination == nil else { return }
        var code: Int32 = -1
        var signalNumber: Int32 = 0
        let result = creactor_wait_pidfd(pidfd, 1, &code, &signalNumber)
        guard result == 1 else { return }   // not yet (or an error we cannot act on)
        let ended: Termination = signalNumber != 0 ? .signaled(signalNumber) : .exited(code)
        termination = ended
        // Level-triggered: the pidfd stays readable; no more events are wanted.
        if let registration, let loop { try? loop.modify(registration, interest: []) }
        if isClosed {
            reap()
            return
        }
        let handler = onExit
        onExit = nil
        handler?(ended)
    }

    public func writable() {}

    /// Reaps the (exited) process, deregisters the pidfd and closes it.
    private func reap() {
        guard !isReaped else { return }
        var code: Int32 = -1
        var signalNumber: Int32 = 0
        if creactor_wait_pidfd(pidfd, 0, &code, &signalNumber) == 1 || creactor_errno() == ECHILD {
            isReaped = true
        }
        let fd = pidfd
        pidfd = -1
        let registration = self.registration
        self.registration = nil
        // Last but the close: deregistering may release the loop's reference to self.
        if let registration { loop?.deregister(registration) }
        if fd >= 0 { _ = CHTTPServerReactor.close(fd) }
    }
}

extension ChildProcess {
    /// Starts a process as `options` say and registers it with `loop`. Throws the `posix_spawn`
    /// error when it cannot start — exec failures included (`ENOENT`, `EACCES`, `ENOEXEC`): glibc
    /// reports them from the child before `spawn` returns.
    public static func spawn(_ options: Options, on loop: EventLoop) throws(SystemError) -> ChildProcess {
        // Three pipes, close-on-exec on both ends: the child gets its own copies as 0, 1 and 2.
        var input = try Pipe()
        var output = try Pipe()
        var errors = try Pipe()
        defer {
            input.closeAll()
            output.closeAll()
            errors.closeAll()
        }
        var pid: pid_t = 0
        let rc = withCStrings(options.arguments) { argv in
            withCStrings(options.environment) { envp in
                creactor_spawn(&pid, options.executable, options.searchesPath ? 1 : 0, argv, envp,
                               input.readEnd, output.writeEnd, errors.writeEnd,
                               options.createsProcessGroup ? 1 : 0,
                               options.user.map { Int($0.uid) } ?? -1, options.user.map { Int($0.gid) } ?? -1)
            }
        }
        guard rc == 0 else { throw SystemError(call: "posix_spawn", errno: rc) }
        // The child has its copies; ours of its ends go.
        input.closeReadEnd()
        output.closeWriteEnd()
        errors.closeWriteEnd()

        let pidfd = creactor_pidfd_open(pid)
        guard pidfd >= 0 else {
            let error = SystemError(call: "pidfd_open", errno: creactor_errno())
            _ = options.createsProcessGroup ? creactor_kill_group(pid, SIGKILL) : kill(pid, SIGKILL)
            _ = creactor_reap_blocking(pid)
            throw error
        }
        var stdin: PipeWriter?
        var stdout: PipeReader?
        var stderr: PipeReader?
        do {
            stdin = try PipeWriter(loop: loop, fd: input.takeWriteEnd())
            stdout = try PipeReader(loop: loop, fd: output.takeReadEnd())
            stderr = try PipeReader(loop: loop, fd: errors.takeReadEnd())
        } catch {
            stdin?.close()
            stdout?.close()
            stderr?.close()
            _ = options.createsProcessGroup ? creactor_kill_group(pid, SIGKILL) : kill(pid, SIGKILL)
            _ = creactor_reap_blocking(pid)
            _ = CHTTPServerReactor.close(pidfd)
            throw error
        }
        let child = ChildProcess(pid: pid, pidfd: pidfd, hasOwnGroup: options.createsProcessGroup, loop: loop,
                                 standardInput: stdin!, standardOutput: stdout!, standardError: stderr!)
        do {
            child.registration = try loop.register(pidfd, interest: .read, handler: child)
        } catch {
            // Not registered, so nobody would notice the exit: kill and wait for it here.
            child.close()
            _ = child.sendSignal(SIGKILL)
            child.isReaped = creactor_reap_blocking(pid) >= 0
            throw error
        }
        return child
    }

    /// The current process's effective user is root.
    public static var isRunningAsRoot: Bool { geteuid() == 0 }

    /// The user named `name` from the password database, or nil.
    public static func user(named name: String) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return User(uid: entry.pw_uid, gid: entry.pw_gid)
    }
}

/// A pipe's two descriptors while a spawn is being set up; whatever was not taken is closed.
private struct Pipe {
    var readEnd: Int32
    var writeEnd: Int32

    init() throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        _ = try systemCall("pipe2") { creactor_pipe_cloexec(&fds) }
        // Keep pipe ends off 0, 1 and 2 (a server started with one of them closed), so that the
        // spawn's dup2 actions never overwrite one end with another.
        for index in 0..<2 where fds[index] < 3 {
            let moved = creactor_dup_cloexec(fds[index], 3)
            let error = creactor_errno()
            _ = CHTTPServerReactor.close(fds[index])
            fds[index] = moved
            if moved < 0 {
                for fd in fds where fd >= 0 { _ = CHTTPServerReactor.close(fd) }
                throw SystemError(call: "fcntl", errno: error)
            }
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    mutating func takeReadEnd() -> Int32 { defer { readEnd = -1 }; return readEnd }
    mutating func takeWriteEnd() -> Int32 { defer { writeEnd = -1 }; return writeEnd }
    mutating func closeReadEnd() { if readEnd >= 0 { _ = CHTTPServerReactor.close(readEnd); readEnd = -1 } }
    mutating func closeWriteEnd() { if writeEnd >= 0 { _ = CHTTPServerReactor.close(writeEnd); writeEnd = -1 } }
    mutating func closeAll() {
        closeReadEnd()
        closeWriteEnd()
    }
}

/// Calls `body` with a NULL-terminated `char *[]` of `strings`, valid during the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
