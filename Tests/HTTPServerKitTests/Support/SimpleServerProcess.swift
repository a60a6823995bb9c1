import Foundation
import Glibc
import Testing

/// The served tree: every kind of entry the issue lists, plus a secret beside it.
struct SimpleTestTree {
    let root: String
    var served: String { root + "/served" }

    init() throws {
        root = NSTemporaryDirectory() + "simple-tree-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        let s = root + "/served"
        for dir in ["", "/sub/inner", "/withindex", "/withhtm", "/bothindex", "/indexdir/index.html", "/\u{dc}n\u{ef}c\u{f6}d\u{e9} dir",
                    "/<weird>&dir", "/sub/empty dir"] {
            try fm.createDirectory(atPath: s + dir, withIntermediateDirectories: true)
        }
        func put(_ path: String, _ bytes: [UInt8]) { #expect(fm.createFile(atPath: s + "/" + path, contents: Data(bytes))) }
        put("text.txt", Array("Hello, world!\nSecond line.\n".utf8))
        put("binary.bin", (0...255).map { UInt8($0) })
        put("empty.txt", [])
        #expect(fm.createFile(atPath: s + "/large.bin", contents: Self.largeContents))
        put("with space.txt", Array("space\n".utf8))
        put("<>&\".txt", Array("markup\n".utf8))
        put("caf\u{e9}.txt", Array("caf\u{e9}\n".utf8))
        put("UPPER.TXT", Array("upper\n".utf8))
        put("script.js", Array("let x = 1;\n".utf8))
        put("archive.tar.gz", [0x1f, 0x8b, 0, 0])
        put("data.unknownext", [1, 2, 3])
        put("noext", [4, 5, 6])
        put("image.svgz", [0x1f, 0x8b])
        put("page.html", Array("<p>page</p>\n".utf8))
        put("sub/inner/deep.txt", Array("deep\n".utf8))
        put("sub/a.txt", Array("a\n".utf8))
        put("sub/B.txt", Array("B\n".utf8))
        put("withindex/index.html", Array("<h1>index</h1>\n".utf8))
        put("withindex/other.txt", Array("other\n".utf8))
        put("withhtm/index.htm", Array("<h1>htm</h1>\n".utf8))
        put("bothindex/index.html", Array("html wins\n".utf8))
        put("bothindex/index.htm", Array("htm loses\n".utf8))
        put("\u{dc}n\u{ef}c\u{f6}d\u{e9} dir/\u{65e5}\u{672c}.txt", Array("nihon\n".utf8))
        try fm.createSymbolicLink(atPath: s + "/link-to-file", withDestinationPath: "text.txt")
        try fm.createSymbolicLink(atPath: s + "/link-to-dir", withDestinationPath: "sub")
        try fm.createSymbolicLink(atPath: s + "/broken-link", withDestinationPath: "nowhere")
        #expect(fm.createFile(atPath: root + "/secret.txt", contents: Data("TOP SECRET\n".utf8)))
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// 3 MiB of pseudo-random bytes (xorshift), made once.
    static let largeContents: Data = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var words = [UInt64](repeating: 0, count: (3 << 20) / 8)
        for i in words.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            words[i] = state
        }
        return words.withUnsafeBytes { Data($0) }
    }()
}

/// A parsed response; `headers` lower-cased names in order, without the ignored ones.
struct SimpleHTTPResponse: Equatable {
    var statusLine = ""
    var headers: [String] = []
    var body: [UInt8] = []
    var status: Int { Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0 }

    init(_ raw: [UInt8], ignoring: Set<String> = []) {
        guard let end = Self.headEnd(raw) else { body = raw; return }
        let head = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        statusLine = head.first ?? ""
        for line in head.dropFirst() where !line.isEmpty {
            let name = line.prefix { $0 != ":" }.lowercased()
            if !ignoring.contains(name) { headers.append(line) }
        }
        body = Array(raw[(end + 4)...])
    }

    func header(_ name: String) -> String? {
        for line in headers where line.lowercased().hasPrefix(name.lowercased() + ":") {
            return String(line.dropFirst(name.count + 1).drop { $0 == " " })
        }
        return nil
    }

    static func headEnd(_ raw: [UInt8]) -> Int? {
        guard raw.count >= 4 else { return nil }
        for i in 0...(raw.count - 4) where raw[i] == 13 && raw[i + 1] == 10 && raw[i + 2] == 13 && raw[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Splits a keep-alive stream into responses by `Content-Length` (none for HEAD, 304).
    static func split(_ stream: [UInt8], methods: [String]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var rest = stream[...]
        for method in methods {
            guard let end = headEnd(Array(rest)) else { break }
            let head = SimpleHTTPResponse(Array(rest[rest.startIndex..<(rest.startIndex + end + 4)]))
            var length = Int(head.header("Content-Length") ?? "") ?? 0
            if method == "HEAD" || head.status == 304 { length = 0 }
            let stop = min(rest.endIndex, rest.startIndex + end + 4 + length)
            out.append(Array(rest[rest.startIndex..<stop]))
            rest = rest[stop...]
        }
        return out
    }
}

/// Starting the two servers and talking to them over raw sockets.
enum SimpleServerProcess {
    final class Running {
        let process: Process
        let port: Int
        let banner: String
        let errors: Pipe
        init(process: Process, port: Int, banner: String, errors: Pipe) {
            self.process = process; self.port = port; self.banner = banner; self.errors = errors
        }
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// The `http-server` built next to this test bundle.
    static var executablePath: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
        if dir.lastPathComponent == "MacOS" || dir.pathExtension == "xctest" { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("http-server").path
    }

    static let pythonScript = """
        import sys, mimetypes, runpy
        mimetypes.knownfiles[:] = []
        sys.argv = ['server.py'] + sys.argv[1:]
        runpy.run_module('http.server', run_name='__main__', alter_sys=True)
        """

    static func startSwift(_ arguments: [String]) throws -> Running {
        try start(executablePath, arguments)
    }

    static func startPython(_ arguments: [String]) throws -> Running {
        try start("/usr/bin/env", ["python3", "-u", "-c", pythonScript] + arguments)
    }

    struct StartFailure: Error, CustomStringConvertible { var description: String }

    /// Starts a server and waits for its banner; the port is read from it.
    static func start(_ executable: String, _ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var banner: [UInt8] = []
        let fd = out.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while banner.last != 0x0A, read(fd, &byte, 1) == 1 { banner.append(byte) }
        let line = String(decoding: banner, as: UTF8.self)
        guard let portWord = line.components(separatedBy: " port ").dropFirst().first?.split(separator: " ").first,
              let port = Int(portWord) else {
            process.terminate()
            throw StartFailure(description: "no banner from \(executable) \(arguments): \(line)")
        }
        return Running(process: process, port: port, banner: line, errors: err)
    }

    /// Connects, sends `request`, reads until the server closes (or 10 s pass).
    static func exchange(port: Int, _ request: [UInt8], host: String = "127.0.0.1") throws -> [UInt8] {
        let fd = try connect(port: port, host: host)
        defer { close(fd) }
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return readAll(fd)
    }

    static func connect(port: Int, host: String = "127.0.0.1") throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw StartFailure(description: "connect to \(port): errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
