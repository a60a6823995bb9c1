import Foundation
import Glibc
import HTTPServerKit
import Testing

/// Out of descriptors, for real: the server runs in a child copy of this test binary whose
/// RLIMIT_NOFILE leaves it about 16 descriptors to spare (a limit is per process, and lowering it
/// here would break the suites running beside this one). This process floods it with connections
/// and watches: the child must not spin, must keep serving the connection it already has, and
/// must serve new clients once descriptors free up.
@Suite(.serialized) struct OutOfDescriptorsTests {
    static let portFileVariable = "RELIABILITY_EMFILE_PORT_FILE"

    /// The child: a hello server with few descriptors to spare. Does nothing in a normal run.
    @Test func emfileServerRunsOnlyInAChildProcess() throws {
        guard let portFile = getenv(Self.portFileVariable).map({ String(cString: $0) }) else { return }
        let server = try HTTPServer(("127.0.0.1", 0), handler: HelloHandler.self, logDestination: .discard)
        // New descriptors take the lowest free numbers, and must be below the limit: put the limit
        // just past the 16th free number (descriptors already open above it stay valid).
        let open = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int32($0) })
        var highest: Int32 = -1
        var free = 0
        while free < 16 {
            highest += 1
            if !open.contains(highest) { free += 1 }
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = rlim_t(highest + 1)
        try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        try "\(server.serverPort) \(highest) \(limit.rlim_cur)".write(toFile: portFile + ".tmp", atomically: false, encoding: .utf8)
        rename(portFile + ".tmp", portFile)
        try server.serveForever()  // until the parent kills this process
    }

    /// CPU time (user + system) of process `pid`, in seconds.
    static func cpuSeconds(of pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return -1 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func get(_ fd: Int32, seconds: Double = 2) -> Bool {
        Sock.send(fd, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        return Sock.readResponse(fd, seconds: seconds).text.hasSuffix("Hello, World!")
    }

    @Test func outOfDescriptorsTheServerDoesNotSpinKeepsServingAndRecovers() throws {
        guard getenv(Self.portFileVariable) == nil else { return }
        LoopbackTests.raiseDescriptorLimit()
        let portFile = "/tmp/reliability-emfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(portFile) }
        let child = try Self.spawnChild(filter: "emfileServerRunsOnlyInAChildProcess",
                                        environment: ["\(Self.portFileVariable)=\(portFile)"])
        defer {
            kill(child, SIGKILL)
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        }
        try #require(eventually(60) { FileManager.default.fileExists(atPath: portFile) }, "the child server started")
        let words = try String(contentsOfFile: portFile, encoding: .utf8).split(separator: " ")
        let port = try #require(Int(words[0]))
        print("EMFILE child: 16th free descriptor \(words[1]), limit \(words[2])")

        // A client that is already connected.
        let existing = try Sock.connect(port: port)
        defer { close(existing) }
        #expect(Self.get(existing))

        // The flood: far more connections than the child has descriptors. They complete in the
        // kernel's backlog; the child accepts until EMFILE, then backs off.
        var flood: [Int32] = []
        for _ in 0..<300 {
            let fd = try Sock.connect(port: port)
            Sock.send(fd, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
            flood.append(fd)
        }
        usleep(300_000)
        var answered = 0
        for fd in flood where Sock.readResponse(fd, seconds: 0.01).text.hasSuffix("Hello, World!") { answered += 1 }
        #expect(answered > 0 && answered < 30, "\(answered) of 300 flood connections answered: the child ran out")

        // No spinning: over a second of exhaustion the child uses a few percent of a core.
        let before = Self.cpuSeconds(of: child)
        usleep(1_000_000)
        let used = Self.cpuSeconds(of: child) - before
        #expect(used < 0.2, "the child used \(used) s of CPU in 1 s while out of descriptors")

        // Connections already open keep being served.
        for _ in 0..<5 { #expect(Self.get(existing, seconds: 1)) }

        // Recovery: the flood goes away, descriptors free up, new clients are served.
        for fd in flood { close(fd) }
        let start = Date()
        let fresh = try Sock.connect(port: port)
        defer { close(fresh) }
        #expect(Self.get(fresh, seconds: 5), "a new client is served once descriptors free up")
        let recovery = Date().timeIntervalSince(start)
        #expect(Self.get(existing))
        print("EMFILE: \(answered) of 300 flood connections accepted before exhaustion; child CPU \(used) s in 1 s; recovered in \(recovery) s")
    }

    /// Runs one test of this binary in a child process (`/proc/self/exe`) with extra environment
    /// variables; returns its pid. The child's output goes to /dev/null.
    static func spawnChild(filter: String, environment extra: [String]) throws -> pid_t {
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
        // Nothing else may leak into the child: a socket of a test running beside this one would
        // stay open there after that test closed it (its peer would never see the close).
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            if let fd = Int32(entry), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, &environment) == 0)
        return pid
    }
}
