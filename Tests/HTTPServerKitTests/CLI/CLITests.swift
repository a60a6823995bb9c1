import Foundation
import Glibc
import Testing

/// The `http-server` executable, run as a subprocess: bad command lines, the banner, signals.
@Suite struct CLITests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `http-server` with `arguments`; kills it after `timeout` (a command that should have
    /// failed but started serving).
    static func run(_ arguments: [String], timeout: Double = 10) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SimpleServerProcess.executablePath)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    static let badCommandLines: [([String], Int32, String)] = [
        (["abc"], 2, "invalid port 'abc'"),
        (["70000"], 2, "invalid port '70000'"),
        (["-1"], 2, "-1"),
        (["8.5"], 2, "invalid port"),
        (["1", "2"], 2, "Unexpected argument '2'"),
        (["-p", "HTTP/2.0"], 2, "unsupported protocol version 'HTTP/2.0'"),
        (["--protocol", "1.1"], 2, "unsupported protocol version '1.1'"),
        (["-p", "http/1.1"], 2, "unsupported protocol version"),
        (["--header", "NoColon"], 2, "invalid header 'NoColon'"),
        (["--header", "Bad Name: x"], 2, "invalid header"),
        (["--header", ": empty name"], 2, "invalid header"),
        (["--content-type", ""], 2, "invalid content type"),
        (["--bogus"], 2, "Unknown option '--bogus'"),
        (["--reactors", "0"], 2, "invalid number of reactors '0': expected a number from 1 to 1024"),
        (["--reactors", "-3"], 2, "reactors"),
        (["--reactors", "two"], 2, "invalid number of reactors 'two'"),
        (["--reactors", "5000"], 2, "invalid number of reactors '5000'"),
        (["--reactors"], 2, "Missing value"),
        (["-b"], 2, "Missing value"),
        (["-d"], 2, "Missing value"),
        (["-d", "/nonexistent-directory-for-tests"], 1, "cannot serve directory '/nonexistent-directory-for-tests': No such file or directory"),
        (["-d", "/etc/passwd"], 1, "Not a directory"),
        (["--cgi", "-d", "/nonexistent-directory-for-tests"], 1, "cannot serve directory '/nonexistent-directory-for-tests'"),
        (["-b", "no-such-host.invalid", "0"], 1, "cannot resolve 'no-such-host.invalid'"),
        (["-b", "192.0.2.1", "0"], 1, "cannot listen on 192.0.2.1 port 0"),
    ]

    @Test(arguments: badCommandLines)
    func badCommandLineIsOneLineAndNonZero(_ arguments: [String], _ status: Int32, _ message: String) throws {
        let outcome = try Self.run(arguments)
        #expect(outcome.status == status, "\(arguments): \(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.hasPrefix("http-server: error: "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(outcome.stderr.filter { $0 == "\n" }.count == 1, "\(outcome.stderr)")
    }

    @Test func portInUseIsOneLine() throws {
        let first = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "0"])
        defer { first.stop() }
        let outcome = try Self.run(["-b", "127.0.0.1", String(first.port)])
        #expect(outcome.status == 1)
        #expect(outcome.stderr == "http-server: error: cannot listen on 127.0.0.1 port \(first.port): Address already in use\n")
    }

    @Test func helpReadsWell() throws {
        let outcome = try Self.run(["--help"])
        #expect(outcome.status == 0)
        for text in ["USAGE: http-server [<port>]", "-b, --bind <ADDRESS>", "-d, --directory <DIRECTORY>",
                     "-p, --protocol <VERSION>", "--content-type <TYPE>", "--header <HEADER>", "--cgi"] {
            #expect(outcome.stdout.contains(text), "\(text)")
        }
    }

    @Test func bannerIPv4AndIPv6() throws {
        let v4 = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "0"])
        defer { v4.stop() }
        #expect(v4.banner == "Serving HTTP on 127.0.0.1 port \(v4.port) (http://127.0.0.1:\(v4.port)/) ...\n")
        let v6 = try SimpleServerProcess.startSwift(["--bind", "::1", "0"])
        defer { v6.stop() }
        #expect(v6.banner == "Serving HTTP on ::1 port \(v6.port) (http://[::1]:\(v6.port)/) ...\n")
    }

    /// With no `-b`, Python names the address getaddrinfo lists first (0.0.0.0 on most Linux
    /// machines); we say the same but listen on IPv6 and IPv4.
    @Test func bannerWithoutBindIsPythonsAndServesBothFamilies() throws {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c",
                            "import socket; print(socket.getaddrinfo(None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][4][0])"]
        let pipe = Pipe()
        python.standardOutput = pipe
        try python.run()
        python.waitUntilExit()
        let host = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try SimpleServerProcess.startSwift(["0"])
        defer { server.stop() }
        let urlHost = host.contains(":") ? "[\(host)]" : host
        #expect(server.banner == "Serving HTTP on \(host) port \(server.port) (http://\(urlHost):\(server.port)/) ...\n")
        let v4 = try SimpleServerProcess.exchange(port: server.port, Array("HEAD / HTTP/1.0\r\n\r\n".utf8))
        #expect(String(decoding: v4.prefix(15), as: UTF8.self) == "HTTP/1.0 200 OK")
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin6_addr = in6addr_loopback
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        #expect(connected == 0, "IPv6 loopback not served")
    }

    @Test func interruptPrintsPythonsGoodbyeAndExitsZero() throws {
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "0"])
        kill(server.process.processIdentifier, SIGINT)
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit)
        #expect(server.process.terminationStatus == 0)
        let rest = String(decoding: (server.process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(rest == "\nKeyboard interrupt received, exiting.\n")
    }

    /// SIGTERM lets a download in flight finish, then exits 0.
    @Test func terminateFinishesResponsesInFlight() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "-d", tree.served, "0"])
        defer { server.stop() }
        let fd = try SimpleServerProcess.connect(port: server.port)
        defer { close(fd) }
        let request = Array("GET /large.bin HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var first = [UInt8](repeating: 0, count: 1024)
        #expect(recv(fd, &first, first.count, 0) > 0)   // the response has started
        kill(server.process.processIdentifier, SIGTERM)
        usleep(100_000)
        let rest = SimpleServerProcess.readAll(fd)
        let response = SimpleHTTPResponse(Array(first) + rest)
        #expect(response.status == 200)
        #expect(response.body.count >= 3 << 20 - 1024)
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }

    /// `--reactors 2`: two event loops serve the folder; SIGTERM drains both and exits 0, and so
    /// does Ctrl-C (each reactor closes its own connections).
    @Test(arguments: [SIGTERM, SIGINT])
    func twoReactorsServeAndStopCleanly(signal: Int32) throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "-d", tree.served, "-p", "HTTP/1.1", "--reactors", "2", "0"])
        defer { server.stop() }
        var open: [Int32] = []
        for _ in 0..<8 {
            let fd = try SimpleServerProcess.connect(port: server.port)
            open.append(fd)
            let request = Array("GET /data.unknownext HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var head = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &head, head.count, 0)
            #expect(count > 0 && String(decoding: head.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
        kill(server.process.processIdentifier, signal)
        for fd in open {
            _ = SimpleServerProcess.readAll(fd)  // the idle keep-alive connections are closed
            close(fd)
        }
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }

    @Test func extraHeadersAndDefaultContentType() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "-d", tree.served, "--content-type", "text/plain",
                                                         "--header", "X-Frame-Options: DENY", "--header", "Cache-Control:  no-store ", "0"])
        defer { server.stop() }
        for (target, status) in [("/data.unknownext", 200), ("/missing", 404), ("/sub", 301), ("/", 200)] {
            let raw = try SimpleServerProcess.exchange(port: server.port, Array("GET \(target) HTTP/1.0\r\n\r\n".utf8))
            let response = SimpleHTTPResponse(raw)
            #expect(response.status == status)
            #expect(response.header("X-Frame-Options") == "DENY", "\(target)")
            #expect(response.header("Cache-Control") == "no-store", "\(target)")
        }
        let unknown = SimpleHTTPResponse(try SimpleServerProcess.exchange(port: server.port, Array("HEAD /data.unknownext HTTP/1.0\r\n\r\n".utf8)))
        #expect(unknown.header("Content-type") == "text/plain")
        let known = SimpleHTTPResponse(try SimpleServerProcess.exchange(port: server.port, Array("HEAD /binary.bin HTTP/1.0\r\n\r\n".utf8)))
        #expect(known.header("Content-type") == "application/octet-stream")   // .bin is in the table
    }
}
