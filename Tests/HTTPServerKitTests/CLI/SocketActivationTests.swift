import Foundation
import Glibc
import Testing

/// `http-server` serving a listening socket it inherits (systemd's socket activation, or
/// `--listen-fd`): the test binds the socket, passes it to a child as descriptor 3, and restarts
/// the child while a client waits in the listen backlog.
@Suite struct SocketActivationTests {
    /// A listening socket on 127.0.0.1 and a free port, close-on-exec, above the low descriptors.
    static func listeningSocket() throws -> (fd: Int32, port: Int) {
        let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(raw, $0, length) == 0 && listen(raw, 16) == 0 && getsockname(raw, $0, &length) == 0
            }
        }
        try #require(ok, "bind/listen: errno \(errno)")
        // Not descriptor 3 itself: dup2(3, 3) in the child would keep close-on-exec set.
        let fd = fcntl(raw, F_DUPFD_CLOEXEC, 100)
        close(raw)
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    struct Child {
        let pid: pid_t
        let banner: String
        func kill() {
            _ = Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Starts `http-server` through `/bin/sh -c script` with `listener` as descriptor 3; waits for
    /// its banner.
    static func spawn(listener: Int32, script: String, arguments: [String]) throws -> Child {
        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listener, 3)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ["/bin/sh", "-c", script, SimpleServerProcess.executablePath] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, nil, &cArguments, environ)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        try #require(result == 0, "posix_spawn: \(result)")
        var banner: [UInt8] = []
        var byte: UInt8 = 0
        while banner.last != 0x0A, read(pipeFDs[0], &byte, 1) == 1 { banner.append(byte) }
        return Child(pid: pid, banner: String(decoding: banner, as: UTF8.self))
    }

    static let request = Array("GET /text.txt HTTP/1.0\r\n\r\n".utf8)

    @Test func systemdSocketIsServedAndARestartRefusesNoConnection() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let (listener, port) = try Self.listeningSocket()
        defer { close(listener) }

        // systemd's protocol: LISTEN_PID is the server's own pid (the shell's, kept by exec).
        let first = try Self.spawn(listener: listener,
                                   script: "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" \"$@\"",
                                   arguments: ["--socket-activation", "-d", tree.served])
        #expect(first.banner.hasPrefix("Serving HTTP on 127.0.0.1 port \(port) "), "\(first.banner)")
        let response = String(decoding: try SimpleServerProcess.exchange(port: port, Self.request), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.0 200 OK"), "\(response)")
        first.kill()

        // No server running: the socket is still open (here), so a client is queued, not refused.
        let waiting = try SimpleServerProcess.connect(port: port)
        defer { close(waiting) }
        _ = Self.request.withUnsafeBytes { send(waiting, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }

        // The restarted server (an explicit descriptor this time) answers it.
        let second = try Self.spawn(listener: listener, script: "exec \"$0\" \"$@\"",
                                    arguments: ["--listen-fd", "3", "-d", tree.served])
        defer { second.kill() }
        #expect(second.banner.contains("port \(port) "), "\(second.banner)")
        let answer = String(decoding: SimpleServerProcess.readAll(waiting), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.0 200 OK"), "\(answer)")
        #expect(answer.hasSuffix("Hello, world!\nSecond line.\n"))
    }

    @Test func socketActivationWithoutASocketFails() throws {
        let outcome = try CLITests.run(["--socket-activation"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("no socket passed"), "\(outcome.stderr)")
        let notListening = try CLITests.run(["--listen-fd", "0"])
        #expect(notListening.status == 1)
        #expect(notListening.stderr.contains("cannot serve the inherited socket 0"), "\(notListening.stderr)")
    }
}
