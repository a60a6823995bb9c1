import Glibc
import Testing
@testable import HTTPServerReactor

/// The parent of every Reactor suite: serialized, because the descriptor-leak test counts
/// /proc/self/fd and the tests share one process.
@Suite(.serialized) struct ReactorTests {}

/// Records what a transport reports; optional hooks let a test react on the loop thread.
final class Recorder: TransportDelegate {
    var received: [UInt8] = []
    var endOfInputCount = 0
    var writableCount = 0
    var failures: [SystemError] = []
    var halfClosedCount = 0
    var onHalfClosed: ((Recorder) -> Void)?
    var onBytes: ((Recorder, UnsafeRawBufferPointer) -> Void)?
    var onEnd: ((Recorder) -> Void)?
    var onWritable: ((Recorder) -> Void)?
    var onFailure: ((Recorder, SystemError) -> Void)?

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        onBytes?(self, bytes)
    }
    func endOfInput() { endOfInputCount += 1; onEnd?(self) }
    func transportWritable() { writableCount += 1; onWritable?(self) }
    func transportFailed(_ error: SystemError) { failures.append(error); onFailure?(self, error) }
    var unreadAtHalfClose = -1
    func peerHalfClosed(unreadBytes: Int) { halfClosedCount += 1; unreadAtHalfClose = unreadBytes; onHalfClosed?(self) }
}

/// Runs `loop` until something calls `stop()`, or a watchdog does after `limit`.
/// Returns false on the watchdog (the test then fails instead of hanging).
@discardableResult
func runLoop(_ loop: EventLoop, limit: Duration = .seconds(5)) throws -> Bool {
    var timedOut = false
    let watchdog = Timer { timedOut = true; loop.stop() }
    loop.arm(watchdog, at: Instant.now().advanced(by: limit))
    try loop.run()
    loop.disarm(watchdog)
    return !timedOut
}

/// A loopback listener accepting into `onAccept`, and a connected client transport.
struct Pair {
    let loop: EventLoop
    let listener: ListeningSocket
    let client: SocketTransport
}

func makeListener(_ host: String = "127.0.0.1") throws -> ListeningSocket {
    try ListeningSocket(address: SocketAddress(ip: host, port: 0))
}

/// Connects a client to a fresh listener, runs the loop until the server side is accepted,
/// and returns both ends (neither started).
func connectedPair(_ loop: EventLoop, host: String = "127.0.0.1") throws -> (server: SocketTransport, client: SocketTransport, listener: ListeningSocket) {
    let listener = try makeListener(host)
    var server: SocketTransport?
    try loop.startAccepting(listener) { transport, _ in
        server = transport
        loop.stop()
    }
    let client = try SocketTransport.connect(loop: loop, to: listener.localAddress)
    #expect(try runLoop(loop))
    loop.stopAccepting(listener)
    return (try #require(server), client, listener)
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

/// The descriptors this process holds (/proc/self/fd), the one used to list them excepted.
func openDescriptors() -> [Int32] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    let own = dirfd(dir)
    var result: [Int32] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = Int32(name), fd != own { result.append(fd) }
    }
    return result
}

func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count
}

/// Runs one test of this binary in a child process (`/proc/self/exe`) with extra environment
/// variables, and returns whether it passed. For scenarios that change process-wide state
/// (RLIMIT_NOFILE, LD_PRELOAD). The child's output goes to /dev/null; its exit status is the verdict.
func runTestInChildProcess(filter: String, environment extra: [String]) throws -> Bool {
    let arguments = ["/proc/self/exe", "--testing-library", "swift-testing", "--filter", filter]
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var environment: [UnsafeMutablePointer<CChar>?] = extra.map { strdup($0) }
    var cursor = environ
    while let entry = cursor.pointee { environment.append(strdup(entry)); cursor += 1 }
    environment.append(nil)
    defer { environment.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    // Nothing else may leak into the child: a socket of a test running beside this one would stay
    // open there after that test closed it (its peer would never see the close).
    for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, &environment)
    try #require(spawned == 0)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED(status) && WEXITSTATUS(status) == 0
    return status & 0x7f == 0 && (status >> 8) & 0xff == 0
}
