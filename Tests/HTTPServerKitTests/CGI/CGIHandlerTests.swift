import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Synchronization
import Testing

/// `CGIHTTPRequestHandler` over loopback with real scripts (Tests/Fixtures/cgi): what scripts
/// receive, every status, the output modes, exit codes and standard error in the log, the timeout.
@Suite(.serialized) struct CGIHandlerTests {
    @Test func aShellScriptGetsPythonsEnvironmentArgumentsAndEmptyInput() throws {
        let server = try CGITestServer()
        let response = try server.get("/cgi-bin/env.sh/a%20b/c?x+y", headers: [
            "Authorization: Basic dXNlcjpwYXNz", "Cookie: a=1", "Cookie: b=2", "Accept: text/html", "Accept: */*",
            "User-Agent: cgi-test", "Referer: http://ref/",
        ])
        #expect(response.status == 200 && response.reason == "Script output follows")
        #expect(response.raw.starts(with: Array("HTTP/1.0 200 Script output follows\r\nServer: SimpleHTTP/0.6 Swift/".utf8)))
        #expect(response.headers["Content-Type"] == "text/plain")
        let output = CGIScriptOutput(response.bodyText)
        #expect(output.arguments == ["x y"])   // the query, '+' as a space, since it holds no '='
        let env = output.environment
        let expected = [
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.0", "SERVER_PORT": String(server.port),
            "SERVER_NAME": "localhost", "REQUEST_METHOD": "GET", "PATH_INFO": "/a b/c",
            "PATH_TRANSLATED": server.tree.root + "/a b/c", "SCRIPT_NAME": "/cgi-bin/env.sh", "QUERY_STRING": "x+y",
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "", "AUTH_TYPE": "Basic", "REMOTE_USER": "user",
            "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "", "HTTP_ACCEPT": "text/html,*/*",
            "HTTP_USER_AGENT": "cgi-test", "HTTP_COOKIE": "a=1, b=2", "HTTP_REFERER": "http://ref/",
        ]
        for (name, value) in expected { #expect(env[name] == value, "\(name)") }
        #expect(env["SERVER_SOFTWARE"]?.hasPrefix("SimpleHTTP/0.6 Swift/") == true)
        // Inherited from the server's environment, as in Python.
        #expect(env["PATH"] == String(cString: getenv("PATH")))
        #expect(output.stdin.isEmpty)
        if geteuid() == 0 {
            // Python runs scripts as nobody when it runs as root; here without root's groups too.
            #expect(output.identity == "uid=65534 gid=65534 groups=65534")
        }
        #expect(server.waitForLog("CGI script exited OK"))
    }

    @Test func aPythonScriptRunsUnderPython3AndReadsThePostedBody() throws {
        let server = try CGITestServer()
        let body = Array("name=value&x=%41".utf8)
        let response = try server.request("POST /cgi-bin/echo.py?plain HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                                          + "Content-Length: \(body.count)\r\n\r\n", body: body)
        #expect(response.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(json["stdin"] as? String == "name=value&x=%41")
        #expect(json["argv"] as? [String] == ["plain"])
        let env = try #require(json["env"] as? [String: String])
        #expect(env["REQUEST_METHOD"] == "POST")
        #expect(env["CONTENT_LENGTH"] == String(body.count))
        #expect(env["CONTENT_TYPE"] == "application/x-www-form-urlencoded")
        #expect(env["QUERY_STRING"] == "plain")
        if geteuid() == 0 { #expect(json["uid"] as? Int == 65534) }
    }

    /// A body larger than the buffered-body limit (1 MiB) streams through the script's standard
    /// input, with backpressure (the script reads it only after a pause).
    @Test func aLargeBodyStreamsIntoTheScript() throws {
        let server = try CGITestServer()
        let body = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        let started = Date()
        let response = try server.request("POST /cgi-bin/count.sh HTTP/1.0\r\nContent-Length: \(body.count)\r\n\r\n", body: body)
        #expect(response.status == 200)
        let words = response.bodyText.split(separator: " ")
        #expect(words.count == 2 && words[1].hasPrefix(String(body.count)))
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(words.first.map(String.init) == Self.cksum(body))
    }

    /// POSIX `cksum`'s CRC of `bytes` (what count.sh prints first).
    static func cksum(_ bytes: [UInt8]) -> String {
        let table: [UInt32] = (0..<256).map { index in
            var value = UInt32(index) << 24
            for _ in 0..<8 { value = value & 0x8000_0000 != 0 ? (value << 1) ^ 0x04C1_1DB7 : value << 1 }
            return value
        }
        var crc: UInt32 = 0
        func feed(_ byte: UInt8) {
            crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))]
        }
        for byte in bytes { feed(byte) }
        var length = bytes.count
        while length > 0 { feed(UInt8(length & 0xFF)); length >>= 8 }
        return String(~crc)
    }

    static let statuses: [(String, Int, String)] = [
        ("POST /file.txt HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 501, "Can only POST to CGI scripts"),
        ("POST / HTTP/1.0\r\n\r\n", 501, "Can only POST to CGI scripts"),
        ("GET /cgi-bin/missing.sh HTTP/1.0\r\n\r\n", 404, "No such CGI script ('/cgi-bin/missing.sh')"),
        ("POST /cgi-bin/missing.sh HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 404, "No such CGI script ('/cgi-bin/missing.sh')"),
        ("GET /cgi-bin/sub HTTP/1.0\r\n\r\n", 403, "CGI script is not a plain file ('/cgi-bin/sub')"),
        ("GET /cgi-bin/ HTTP/1.0\r\n\r\n", 403, "CGI script is not a plain file ('/cgi-bin/')"),
        ("GET /cgi-bin/notexec.sh HTTP/1.0\r\n\r\n", 403, "CGI script is not executable ('/cgi-bin/notexec.sh')"),
        // Python drops the connection without an answer for these.
        ("GET /../x HTTP/1.0\r\n\r\n", 400, "Bad request: the path climbs above the root ('..')"),
        ("GET /cgi-bin/../../cgi-bin/env.sh HTTP/1.0\r\n\r\n", 400, "Bad request: the path climbs above the root ('..')"),
        ("POST /cgi-bin/%2e%2e/%2e%2e/x HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 400, "Bad request: the path climbs above the root ('..')"),
        ("GET /.. HTTP/1.0\r\n\r\n", 400, "Bad request: the path climbs above the root ('..')"),
        // Python decodes twice and runs /top.sh, outside the CGI directory.
        ("GET /cgi-bin/%252e%252e/top.sh HTTP/1.0\r\n\r\n", 404, "No such CGI script ('/cgi-bin/%2e%2e/top.sh')"),
        ("GET /cgi-bin/a%00b HTTP/1.0\r\n\r\n", 400, "Bad request: NUL byte in path"),
        ("GET /cgi-bin/env.sh/x%00y HTTP/1.0\r\n\r\n", 400, "Bad request: NUL byte in a CGI variable"),
    ]

    @Test(arguments: statuses)
    func everyRefusalHasItsStatus(_ request: String, _ status: Int, _ reason: String) throws {
        let server = try CGITestServer()
        let response = try server.request(request)
        #expect(response.status == status, "\(request)")
        #expect(response.reason == reason, "\(request)")
        #expect(!response.bodyText.contains("TOP-LEVEL SCRIPT RAN"))
    }

    /// The shapes of the issue and of CVE-2011-1015 reach the script they name, and only it.
    static let collapsedPaths: [(String, String)] = [
        ("/cgi-bin/../cgi-bin/sub/nested.sh", "/cgi-bin/sub/nested.sh"),
        ("//cgi-bin/sub/nested.sh", "/cgi-bin/sub/nested.sh"),
        ("/cgi-bin/./sub/nested.sh", "/cgi-bin/sub/nested.sh"),
        ("/cgi-bin//sub/./nested.sh", "/cgi-bin/sub/nested.sh"),
        ("/htbin/../cgi-bin/sub/nested.sh/x/y", "/cgi-bin/sub/nested.sh"),
        ("/x/..%2fcgi-bin/sub/nested.sh", "/cgi-bin/sub/nested.sh"),
        ("/cgi-bin/sub/../sub/nested.sh", "/cgi-bin/sub/nested.sh"),
    ]

    @Test(arguments: collapsedPaths)
    func collapsedPathsRunTheScriptTheyName(_ path: String, _ scriptName: String) throws {
        let server = try CGITestServer()
        let response = try server.get(path)
        #expect(response.status == 200, "\(path)")
        #expect(response.bodyText.contains("SCRIPT_NAME=\(scriptName)"), "\(path): \(response.bodyText)")
    }

    @Test func staticFilesHtbinAndHEADStillWork() throws {
        let server = try CGITestServer()
        let file = try server.get("/file.txt")
        #expect(file.status == 200 && file.bodyText == "a static file\n")
        #expect(try server.get("/htbin/hello.sh").bodyText == "hello from htbin\n")
        // HEAD runs the script, and (as Python) its output follows: the connection ends with it.
        let head = try server.request("HEAD /htbin/hello.sh HTTP/1.0\r\n\r\n", isHEAD: false)
        #expect(head.status == 200 && head.bodyText == "hello from htbin\n")
    }

    @Test func exitCodesAndStandardErrorGoToTheLog() throws {
        let server = try CGITestServer()
        let response = try server.get("/cgi-bin/fail.sh")
        #expect(response.bodyText == "partial\n")
        #expect(server.waitForLog("CGI script exit code 3"))
        let lines = server.logLines
        #expect(lines.contains { $0.hasSuffix("] first complaint") })
        #expect(lines.contains { $0.hasSuffix("] second complaint") })
        #expect(lines.contains { $0.hasSuffix("] unterminated") })
        #expect(lines.contains { $0.hasSuffix("\"GET /cgi-bin/fail.sh HTTP/1.0\" 200 -") })
    }

    /// Python's output has no length: under HTTP/1.1 Python never closes, and the client hangs.
    /// Here the connection closes after it.
    @Test func anHTTP11ClientIsNotLeftHanging() throws {
        var configuration = SimpleHTTPRequestHandler.Configuration(directory: "")
        configuration.protocolVersion = "HTTP/1.1"
        let server = try CGITestServer(configuration: configuration)
        let fd = try SimpleServerProcess.connect(port: server.port)
        defer { close(fd) }
        let request = Array("GET /htbin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let started = Date()
        let bytes = SimpleServerProcess.readAll(fd)   // returns at the server's close (or after 10 s)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200 Script output follows\r\n"))
        #expect(String(decoding: bytes, as: UTF8.self).hasSuffix("\r\n\r\nhello from htbin\n"))
    }

    @Test func aScriptThatRunsTooLongIsKilledAndTheConnectionClosed() throws {
        var cgi = CGIConfiguration()
        cgi.timeout = .milliseconds(500)
        let server = try CGITestServer(cgi: cgi)
        let started = Date()
        let response = try server.request("GET /cgi-bin/sleeper.sh HTTP/1.0\r\n\r\n")
        #expect(Date().timeIntervalSince(started) < 5)
        let pids = CGIScriptOutput.pids(response.bodyText)
        #expect(pids.count == 2)
        #expect(server.waitForLog("CGI script timed out after 0.5 seconds; killed"))
        #expect(pids.count == 2 && CGIProcesses.waitUntilGone(pids[0]), "the script was not killed and reaped")
        #expect(pids.count == 2 && CGIProcesses.waitUntilKilled(pids[1]), "the script's child was not killed")
    }

    @Test func parsedOutputHonoursStatusLocationAndFramesTheBody() throws {
        var configuration = SimpleHTTPRequestHandler.Configuration(directory: "")
        configuration.protocolVersion = "HTTP/1.1"
        var cgi = CGIConfiguration()
        cgi.scriptOutput = .parsed
        let server = try CGITestServer(configuration: configuration, cgi: cgi)

        let notFound = try server.get("/cgi-bin/status.sh?notfound")
        #expect(notFound.status == 404 && notFound.reason == "Gone Fishing")
        #expect(notFound.bodyText == "not here\n")
        let redirect = try server.get("/cgi-bin/status.sh?redirect")
        #expect(redirect.status == 302 && redirect.headers["Location"] == "http://example.com/elsewhere")
        let bare = try server.get("/cgi-bin/status.sh?nolf")
        #expect(bare.status == 200 && bare.bodyText == "bare LF\n")
        #expect(try server.get("/cgi-bin/status.sh?malformed").status == 500)
        #expect(try server.get("/cgi-bin/status.sh?premature").status == 500)
        #expect(server.waitForLog("CGI script output is not a valid response: premature end of script headers"))

        // Keep-alive: a chunked response, then a sized one, then HEAD, on one connection.
        let fd = try SimpleServerProcess.connect(port: server.port)
        defer { close(fd) }
        let requests = "GET /cgi-bin/status.sh?chunked HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /cgi-bin/status.sh?length HTTP/1.1\r\nHost: x\r\n\r\n"
            + "HEAD /cgi-bin/status.sh?chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        _ = Array(requests.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let bytes = SimpleServerProcess.readAll(fd)
        let (responses, _) = try ResponseReader.parse(bytes, atEOF: true, isHEAD: { $0 == 2 })
        #expect(responses.count == 3)
        guard responses.count == 3 else { return }
        #expect(responses[0].headers["Transfer-Encoding"] == "chunked")
        #expect(responses[0].headers["X-Script"] == "yes")
        #expect(responses[0].bodyText == "one\ntwo\n")
        #expect(responses[1].headers["Content-Length"] == "6" && responses[1].bodyText == "sized\n")
        #expect(responses[2].status == 200 && responses[2].body.isEmpty)
        #expect(responses[2].headers["Transfer-Encoding"] == nil)
    }
}

// MARK: - Support shared by the CGI suites
