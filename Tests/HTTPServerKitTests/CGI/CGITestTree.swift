import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Synchronization
import Testing

/// Tests/Fixtures/cgi copied to a temporary folder that anyone may read and traverse (a server
/// running as root runs scripts as nobody), plus a 1 MiB static file.
final class CGITestTree {
    let root: String

    init() throws {
        let source = fixturesDirectory.appendingPathComponent("cgi").path
        root = NSTemporaryDirectory() + "cgi-tree-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.copyItem(atPath: source, toPath: root)
        chmod(root, 0o755)
        let executables = ["cgi-bin/env.sh", "cgi-bin/echo.py", "cgi-bin/fail.sh", "cgi-bin/slow.sh", "cgi-bin/sleeper.sh",
                           "cgi-bin/flood.sh", "cgi-bin/count.sh", "cgi-bin/status.sh", "cgi-bin/sub/nested.sh",
                           "htbin/hello.sh", "top.sh"]
        for folder in ["cgi-bin", "cgi-bin/sub", "htbin"] { chmod(root + "/" + folder, 0o755) }
        for file in executables { chmod(root + "/" + file, 0o755) }
        chmod(root + "/cgi-bin/notexec.sh", 0o644)
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        try Data(big).write(to: URL(fileURLWithPath: root + "/big.bin"))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

/// Log lines, collected from the loop thread.
final class CGILogLines: Sendable {
    let lines = Mutex<[String]>([])
}

/// A CGI server in this process, on a thread of its own, serving a fresh `CGITestTree`.
final class CGITestServer {
    let tree: CGITestTree
    let server: HTTPServer
    let log = CGILogLines()
    private let thread: Thread

    init(configuration: SimpleHTTPRequestHandler.Configuration = .init(directory: ""), cgi: CGIConfiguration = CGIConfiguration(),
         serverConfiguration: ServerConfiguration = ServerConfiguration()) throws {
        let tree = try CGITestTree()
        self.tree = tree
        var configuration = configuration
        configuration.directory = tree.root
        let log = self.log
        server = try HTTPServer(("127.0.0.1", 0), configuration: serverConfiguration,
                                logDestination: .custom { line in log.lines.withLock { $0.append(line) } }) {
            CGIHTTPRequestHandler(configuration: configuration, cgi: cgi)
        }
        let server = self.server
        thread = Thread { try? server.serveForever() }
        thread.start()
    }

    deinit {
        server.shutdown()
        server.serverClose()
    }

    var port: Int { server.serverPort }
    var logLines: [String] { log.lines.withLock { $0 } }

    /// Waits (up to 5 s) for a log line that ends with `suffix`.
    func waitForLog(_ suffix: String) -> Bool {
        for _ in 0..<500 {
            if logLines.contains(where: { $0.hasSuffix(suffix) }) { return true }
            usleep(10_000)
        }
        return false
    }

    func get(_ path: String, headers: [String] = []) throws -> TestResponse {
        try request("GET \(path) HTTP/1.0\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
    }

    /// Sends `head` (and `body`) on a new connection and reads the response to the server's close.
    func request(_ head: String, body: [UInt8] = [], isHEAD: Bool? = nil) throws -> TestResponse {
        let raw = try CGIClient.exchange(port: port, Array(head.utf8) + body)
        let headRequest = isHEAD ?? head.hasPrefix("HEAD ")
        let (responses, _) = try ResponseReader.parse(raw, atEOF: true, isHEAD: { _ in headRequest })
        guard let response = responses.first else {
            throw SimpleServerProcess.StartFailure(description: "no response to \(head.debugDescription): \(String(decoding: raw, as: UTF8.self))")
        }
        return response
    }
}

enum CGIClient {
    /// Sends all of `bytes` (a large body needs several sends, while the server reads it) and
    /// reads until the server closes.
    static func exchange(port: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = try SimpleServerProcess.connect(port: port)
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        return SimpleServerProcess.readAll(fd)
    }
}

/// What env.sh printed.
struct CGIScriptOutput {
    var arguments: [String] = []
    var identity = ""
    var environment: [String: String] = [:]
    var stdin = ""

    init(_ text: String) {
        var section = ""
        var stdinLines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("--- ") { section = String(line.dropFirst(4)); continue }
            switch section {
            case "environment":
                if let equals = line.firstIndex(of: "=") {
                    environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
                }
            case "stdin":
                stdinLines.append(line)
            default:
                if line.hasPrefix("arg=[") && line.hasSuffix("]") { arguments.append(String(line.dropFirst(5).dropLast())) }
                if line.hasPrefix("uid=") { identity = String(line) }
            }
        }
        stdin = stdinLines.joined(separator: "\n")
    }

    /// The numbers after `pid=` and `child=` (sleeper.sh, slow.sh).
    static func pids(_ text: String) -> [Int32] {
        text.split(whereSeparator: \.isWhitespace).compactMap { word in
            guard let equals = word.firstIndex(of: "="), ["pid", "child"].contains(word[..<equals]) else { return nil }
            return Int32(word[word.index(after: equals)...])
        }
    }
}

enum CGIProcesses {
    /// The state letter of /proc/PID/stat, or nil when there is no such process.
    static func state(_ pid: Int32) -> Character? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)...].first
    }

    /// The parent of `pid`, from /proc/PID/stat.
    static func parent(_ pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) }
    }

    /// Waits (up to 5 s) until `pid` is gone: killed and reaped, not a zombie.
    static func waitUntilGone(_ pid: Int32) -> Bool {
        for _ in 0..<500 {
            if state(pid) == nil { return true }
            usleep(10_000)
        }
        return false
    }

    /// Waits (up to 5 s) until `pid`, a process we are not the parent of, is dead: gone, or a
    /// zombie of its new parent (a container's init may not reap orphans).
    static func waitUntilKilled(_ pid: Int32) -> Bool {
        for _ in 0..<500 {
            let current = state(pid)
            if current == nil || current == "Z" { return true }
            usleep(10_000)
        }
        return false
    }

    /// The children of `parent` and their states.
    static func children(of parent: Int32) -> [(pid: Int32, state: Character)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.compactMap { pid in
            guard self.parent(pid) == parent, let state = state(pid) else { return nil }
            return (pid, state)
        }
    }
}
