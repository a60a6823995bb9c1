import Foundation
import Glibc
import HTTPServerTesting
import Testing

/// CPython 3.11.7's `http.server --cgi` and `http-server --cgi`, started with the same environment
/// on the same tree, asked the same things: the scripts must see the same environment and
/// arguments, and refusals must be the same responses, except where this server differs on purpose
/// (docs/cgi.md).
@Suite(.serialized) struct CGIPythonDifferentialTests {
    static let python = "/root/.pyenv/versions/3.11.7/bin/python3"

    /// Both servers, each started with exactly `environment`.
    final class Servers {
        let tree: CGITestTree
        let swift: SimpleServerProcess.Running
        let python: SimpleServerProcess.Running

        init() throws {
            tree = try CGITestTree()
            let environment = ["PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "CGI_DIFFERENTIAL": "yes"]
            swift = try Self.start(SimpleServerProcess.executablePath, ["--cgi", "-b", "127.0.0.1", "-d", tree.root, "0"], environment)
            python = try Self.start(CGIPythonDifferentialTests.python,
                                    ["-u", "-m", "http.server", "--cgi", "-b", "127.0.0.1", "-d", tree.root, "0"], environment)
        }

        deinit {
            swift.stop()
            python.stop()
        }

        static func start(_ executable: String, _ arguments: [String], _ environment: [String: String]) throws -> SimpleServerProcess.Running {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            var banner: [UInt8] = []
            var byte: UInt8 = 0
            while banner.last != 0x0A, read(out.fileHandleForReading.fileDescriptor, &byte, 1) == 1 { banner.append(byte) }
            let line = String(decoding: banner, as: UTF8.self)
            guard let word = line.components(separatedBy: " port ").dropFirst().first?.split(separator: " ").first,
                  let port = Int(word) else {
                process.terminate()
                throw SimpleServerProcess.StartFailure(description: "no banner from \(executable): \(line)")
            }
            return SimpleServerProcess.Running(process: process, port: port, banner: line, errors: err)
        }

        /// The same request to both. Python's script reads the socket itself, so it sees the end
        /// of its input only when the client shuts its side: that is done for Python only (this
        /// server gives a script exactly the body, then end of file; and it takes a client's close
        /// as the client leaving).
        func ask(_ request: String) throws -> (swift: String, python: String) {
            let bytes = Array(request.utf8)
            let ours = try CGIClient.exchange(port: swift.port, bytes)
            let fd = try SimpleServerProcess.connect(port: python.port)
            defer { close(fd) }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            shutdown(fd, Int32(SHUT_WR))
            let theirs = SimpleServerProcess.readAll(fd)
            return (String(decoding: ours, as: UTF8.self), String(decoding: theirs, as: UTF8.self))
        }
    }

    /// Requests whose script output must be the same from both, apart from the variables that
    /// name the server (SERVER_SOFTWARE, SERVER_PORT) and, as root, the group (Python keeps root's).
    static let sameScriptView: [String] = [
        "GET /cgi-bin/env.sh HTTP/1.0\r\n\r\n",
        "GET /cgi-bin/env.sh/a%20b/c%2Fd?x+y HTTP/1.0\r\nAuthorization: Basic dXNlcjpwYXNz\r\nCookie: a=1\r\nCookie: b=2\r\n"
            + "Accept: text/html\r\nAccept: */*\r\nUser-Agent: differential\r\nReferer: http://r/\r\n\r\n",
        "GET /cgi-bin/env.sh?a=b&c=d HTTP/1.0\r\nAuthorization: Bearer token\r\n\r\n",
        "GET /cgi-bin/env.sh?-n+x HTTP/1.0\r\nContent-Type: text/x\r\nAuthorization: Basic dXNlcjpwOng=\r\n\r\n",
        "GET /cgi-bin/../cgi-bin/sub/nested.sh/more/%7Euser HTTP/1.0\r\n\r\n",
        "GET //cgi-bin/./env.sh HTTP/1.0\r\n\r\n",
        "HEAD /cgi-bin/env.sh/h HTTP/1.0\r\n\r\n",
        "POST /cgi-bin/env.sh?q HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nhello=world",
    ]

    @Test(arguments: sameScriptView)
    func scriptsSeeWhatPythonsScriptsSee(_ request: String) throws {
        guard access(Self.python, X_OK) == 0 else { return }
        let servers = try Servers()
        let (ours, theirs) = try servers.ask(request)
        #expect(!ours.isEmpty && !theirs.isEmpty)
        let swiftPort = String(servers.swift.port), pythonPort = String(servers.python.port)
        func normalized(_ text: String, port: String) -> [String] {
            var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
            // Server and Date lines differ by nature; the rest of the head is the same.
            lines.removeAll { $0.hasPrefix("Server: ") || $0.hasPrefix("Date: ") || $0.hasPrefix("SERVER_SOFTWARE=") }
            lines = lines.map { line in
                if line.hasPrefix("uid=") { return String(line.prefix { $0 != " " }) }   // Python keeps gid 0
                return line.replacingOccurrences(of: "SERVER_PORT=\(port)", with: "SERVER_PORT=*")

            }
            return lines
        }
        #expect(normalized(ours, port: swiftPort) == normalized(theirs, port: pythonPort), "\(request)")
    }

    /// Refusals: the same status line and error page, byte for byte apart from Server and Date.
    static let sameRefusal: [String] = [
        "POST /file.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        "GET /cgi-bin/missing.sh HTTP/1.0\r\n\r\n",
        "GET /cgi-bin/missing.sh/x?y HTTP/1.0\r\n\r\n",
        "GET /cgi-bin/sub HTTP/1.0\r\n\r\n",
        "GET /cgi-bin/ HTTP/1.0\r\n\r\n",
        "GET /cgi-bin/notexec.sh HTTP/1.0\r\n\r\n",
        "GET /file.txt HTTP/1.0\r\n\r\n",
    ]

    @Test(arguments: sameRefusal)
    func refusalsAreTheSameResponses(_ request: String) throws {
        guard access(Self.python, X_OK) == 0 else { return }
        let servers = try Servers()
        let (ours, theirs) = try servers.ask(request)
        func normalized(_ text: String) -> [String] {
            text.components(separatedBy: "\r\n").filter {
                !$0.hasPrefix("Server: ") && !$0.hasPrefix("Date: ") && !$0.hasPrefix("Last-Modified: ")
                    && !$0.hasPrefix("ETag: ") && !$0.hasPrefix("Accept-Ranges: ")
            }
        }
        #expect(normalized(ours) == normalized(theirs), "\(request)")
    }

    /// Where Python drops the connection (too many `..`) or runs a file outside cgi-bin (a
    /// double-encoded `..`), this server answers 400 and 404.
    @Test func whereCPythonIsWrongThisServerAnswers() throws {
        guard access(Self.python, X_OK) == 0 else { return }
        let servers = try Servers()
        let (ours, theirs) = try servers.ask("GET /cgi-bin/../../x HTTP/1.0\r\n\r\n")
        #expect(theirs.isEmpty)
        #expect(ours.hasPrefix("HTTP/1.0 400 "))
        let (safe, unsafe) = try servers.ask("GET /cgi-bin/%252e%252e/top.sh HTTP/1.0\r\n\r\n")
        #expect(unsafe.contains("TOP-LEVEL SCRIPT RAN"))
        #expect(safe.hasPrefix("HTTP/1.0 404 ") && !safe.contains("TOP-LEVEL SCRIPT RAN"))
    }
}
