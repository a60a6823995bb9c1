import Foundation
import Glibc
import Testing

/// The real HAProxy (Debian's `haproxy`) in front of `http-server --proxy-protocol`, on loopback:
/// the client's address, not HAProxy's, is what the server logs. Clients connect from 127.0.0.3
/// so that the address the header carries differs from the proxy's own (127.0.0.1).
/// Where Debian installs HAProxy; nil when it is not installed.
let haproxyExecutable: String? = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
    .first { access($0, X_OK) == 0 }

@Suite(.enabled(if: haproxyExecutable != nil, "haproxy is not installed (.ci/run installs it)"),
       .serialized)
struct HAProxyTests {
    /// A port that was free a moment ago.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = getsockname(fd, $0, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Connects from `source` to 127.0.0.1:`port`; -1 when refused.
    static func connect(from source: String, port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &local) { l in
            withUnsafePointer(to: &remote) { r in
                l.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } == 0
                    && r.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) } == 0
            }
        }
        if !ok { close(fd); return -1 }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// GET `path` through the proxy at `port`, from 127.0.0.3, HTTP/1.0: the whole response.
    static func get(_ path: String, port: Int) -> String {
        let fd = connect(from: "127.0.0.3", port: port)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: test\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return String(decoding: SimpleServerProcess.readAll(fd), as: UTF8.self)
    }

    @Test func clientAddressCrossesHAProxyWithSendProxyAndSendProxyV2() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        // A CGI script that answers with its REMOTE_ADDR.
        try FileManager.default.createDirectory(atPath: tree.served + "/cgi-bin", withIntermediateDirectories: true)
        let script = tree.served + "/cgi-bin/addr.sh"
        try "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s' \"$REMOTE_ADDR\"\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let server = try SimpleServerProcess.startSwift(
            ["0", "-b", "127.0.0.1", "-d", tree.served, "--cgi", "--proxy-protocol", "127.0.0.1/32"])
        defer { server.stop() }
        let (v1, v2, plain) = (Self.freePort(), Self.freePort(), Self.freePort())
        let config = """
            global
                maxconn 100
            defaults
                mode tcp
                timeout connect 5s
                timeout client 10s
                timeout server 10s
            frontend v1
                bind 127.0.0.1:\(v1)
                default_backend v1
            backend v1
                server s 127.0.0.1:\(server.port) send-proxy
            frontend v2
                bind 127.0.0.1:\(v2)
                default_backend v2
            backend v2
                server s 127.0.0.1:\(server.port) send-proxy-v2
            frontend plain
                bind 127.0.0.1:\(plain)
                default_backend plain
            backend plain
                server s 127.0.0.1:\(server.port)

            """
        let configPath = tree.root + "/haproxy.cfg"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let haproxy = Process()
        haproxy.executableURL = URL(fileURLWithPath: try #require(haproxyExecutable))
        haproxy.arguments = ["-db", "-f", configPath]
        haproxy.standardOutput = FileHandle.nullDevice
        haproxy.standardError = FileHandle.nullDevice
        try haproxy.run()
        defer {
            kill(haproxy.processIdentifier, SIGKILL)
            haproxy.waitUntilExit()
        }
        // Ready when all three frontends accept.
        let deadline = Date().addingTimeInterval(10)
        for port in [v1, v2, plain] {
            while true {
                let fd = Self.connect(from: "127.0.0.1", port: port)
                if fd >= 0 { close(fd); break }
                try #require(Date() < deadline, "haproxy did not start")
                usleep(20_000)
            }
        }

        let viaV1 = Self.get("/text.txt", port: v1)
        let viaV2 = Self.get("/text.txt", port: v2)
        // HAProxy without send-proxy: the trusted peer sends no header; nothing is served.
        let viaPlain = Self.get("/text.txt", port: plain)
        #expect(viaV1.hasPrefix("HTTP/1.0 200 OK"), "\(viaV1)")
        #expect(viaV1.hasSuffix("Hello, world!\nSecond line.\n"))
        #expect(viaV2.hasPrefix("HTTP/1.0 200 OK"), "\(viaV2)")
        #expect(!viaPlain.contains("Hello, world!"), "\(viaPlain)")
        let cgi = Self.get("/cgi-bin/addr.sh", port: v2)
        #expect(cgi.hasPrefix("HTTP/1.0 200"), "\(cgi)")
        #expect(cgi.hasSuffix("\r\n\r\n127.0.0.3"), "CGI's REMOTE_ADDR: \(cgi)")

        usleep(300_000)  // the access log is flushed within 50 ms
        server.stop()
        let log = String(decoding: server.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = log.split(separator: "\n").filter { $0.contains("\"GET /text.txt HTTP/1.0\" 200") }
        #expect(lines.count == 2, "\(log)")
        for line in lines { #expect(line.hasPrefix("127.0.0.3 - - ["), "\(line)") }
    }
}
