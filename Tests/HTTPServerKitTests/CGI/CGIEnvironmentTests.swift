import Testing
import HTTPServerKit
@testable import HTTPServerCGI

/// The environment `run_cgi` builds, and the header section parser of the parsed output mode.
@Suite struct CGIEnvironmentTests {
    static func request(_ headers: [(String, String)] = [], method: String = "GET") -> CGIEnvironment.Request {
        CGIEnvironment.Request(
            serverSoftware: "SimpleHTTP/0.6 Swift/6.3", serverName: "localhost", serverProtocol: "HTTP/1.0",
            serverPort: 8000, method: method, pathInfo: "/a b", pathTranslated: "/srv/a b",
            scriptName: "/cgi-bin/x.sh", query: "q=1+2", remoteAddress: "127.0.0.1", headers: HTTPHeaders(headers))
    }

    @Test func theVariablesOfARequestWithoutHeadersAreExactlyPythons() {
        let environment = CGIEnvironment(request: Self.request(), inherited: [])
        let expected: [(String, String)] = [
            ("SERVER_SOFTWARE", "SimpleHTTP/0.6 Swift/6.3"), ("SERVER_NAME", "localhost"),
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_PROTOCOL", "HTTP/1.0"), ("SERVER_PORT", "8000"),
            ("REQUEST_METHOD", "GET"), ("PATH_INFO", "/a b"), ("PATH_TRANSLATED", "/srv/a b"),
            ("SCRIPT_NAME", "/cgi-bin/x.sh"), ("QUERY_STRING", "q=1+2"), ("REMOTE_ADDR", "127.0.0.1"),
            ("CONTENT_TYPE", "text/plain"), ("HTTP_ACCEPT", ""),
            // Python's setdefault(k, "") for these when the request did not set them.
            ("REMOTE_HOST", ""), ("CONTENT_LENGTH", ""), ("HTTP_USER_AGENT", ""), ("HTTP_COOKIE", ""), ("HTTP_REFERER", ""),
        ]
        #expect(environment.variables.map { "\($0.name)=\($0.value)" } == expected.map { "\($0.0)=\($0.1)" })
    }

    @Test func headersBecomeTheirVariablesAsInPython() {
        let environment = CGIEnvironment(request: Self.request([
            ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "12"),
            ("Referer", "http://r/"), ("Accept", "text/html"), ("User-Agent", "ua/1"), ("Accept", "*/*"),
            ("Cookie", "a=1"), ("Cookie", ""), ("Cookie", "b=2"), ("X-Other", "not passed"),
            ("Authorization", "Basic dXNlcjpwYXNz"),
        ], method: "POST"), inherited: [])
        #expect(environment["CONTENT_TYPE"] == "application/x-www-form-urlencoded")
        #expect(environment["CONTENT_LENGTH"] == "12")
        #expect(environment["HTTP_REFERER"] == "http://r/")
        #expect(environment["HTTP_ACCEPT"] == "text/html,*/*")
        #expect(environment["HTTP_USER_AGENT"] == "ua/1")
        #expect(environment["HTTP_COOKIE"] == "a=1, b=2")
        #expect(environment["AUTH_TYPE"] == "Basic")
        #expect(environment["REMOTE_USER"] == "user")
        #expect(environment["REQUEST_METHOD"] == "POST")
        #expect(environment["HTTP_X_OTHER"] == nil)
        // An empty Content-Type header is passed as it is (Python tests `is None`).
        #expect(CGIEnvironment(request: Self.request([("Content-Type", "")]), inherited: [])["CONTENT_TYPE"] == "")
    }

    /// CPython 3.11.7's answers: `base64.decodebytes(token).decode('ascii').split(':')`, a user only
    /// for exactly two parts; a non-Basic scheme sets AUTH_TYPE alone.
    static let basicTokens: [(String, String?)] = [
        ("dXNlcjpwYXNz", "user"), ("dXNlcjpwYXNz=", "user"), ("dXNlcjpwYXNzOng=", nil), ("dXNlcg==", nil),
        ("Og==", ""), ("dXNlcjpwYXN", nil), ("dXNlcjpwYX", nil), ("dXNlcjpwYXNz!!", "user"),
        ("6XNlcjpwYXNz", nil), ("w6k6eA==", nil), ("dXNlcjpwYXNz====", "user"), ("dXN=lcjpw", nil),
    ]

    @Test(arguments: basicTokens)
    func basicCredentialsAreDecodedAsPythonDecodesThem(_ token: String, _ user: String?) {
        let environment = CGIEnvironment(request: Self.request([("Authorization", "Basic " + token)]), inherited: [])
        #expect(environment["AUTH_TYPE"] == "Basic")
        #expect(environment["REMOTE_USER"] == user)
    }

    @Test func otherAuthorizationShapes() {
        func variables(_ value: String) -> [String?] {
            let environment = CGIEnvironment(request: Self.request([("Authorization", value)]), inherited: [])
            return [environment["AUTH_TYPE"], environment["REMOTE_USER"]]
        }
        #expect(variables("Bearer abc") == ["Bearer", nil])
        #expect(variables("basic dXNlcjpwYXNz") == ["basic", "user"])
        #expect(variables("Basic") == [nil, nil])
        #expect(variables("Basic a b") == [nil, nil])
        #expect(variables("Basic\u{A0}dXNlcjpwYXNz") == ["Basic", "user"])   // str.split() splits on NBSP too
    }

    @Test func theServerEnvironmentIsInheritedButNeverItsMetaVariables() {
        let inherited = ["PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", "REMOTE_USER=admin", "AUTH_TYPE=Basic",
                         "HTTP_HOST=evil", "HTTP_PROXY=http://proxy:3128", "QUERY_STRING=stale", "CONTENT_LENGTH=99",
                         "REMOTE_IDENT=x", "NOEQUALS", "=empty", "WITH=equals=inside"]
        let environment = CGIEnvironment(request: Self.request(), inherited: inherited)
        #expect(environment["PATH"] == "/usr/bin:/bin")
        #expect(environment["HOME"] == "/root")
        #expect(environment["WITH"] == "equals=inside")
        for name in ["REMOTE_USER", "AUTH_TYPE", "HTTP_HOST", "HTTP_PROXY", "REMOTE_IDENT", "NOEQUALS", ""] {
            #expect(environment[name] == nil, "\(name)")
        }
        #expect(environment["QUERY_STRING"] == "q=1+2")
        #expect(environment["CONTENT_LENGTH"] == "")
        #expect(environment.entries.filter { $0.hasPrefix("PATH=") }.count == 1)

        let narrowed = CGIEnvironment(request: Self.request(), inherited: inherited, only: ["PATH", "REMOTE_USER"])
        #expect(narrowed["PATH"] == "/usr/bin:/bin")
        #expect(narrowed["HOME"] == nil && narrowed["LANG"] == nil && narrowed["REMOTE_USER"] == nil)
    }

    // MARK: Parsed output

    static func parse(_ text: String, splitAt split: Int? = nil) -> (CGIHeaderParser.Step, CGIHeaderParser) {
        var parser = CGIHeaderParser()
        let bytes = Array(text.utf8)
        guard let split, split < bytes.count else {
            return (bytes.withUnsafeBytes { parser.parse($0) }, parser)
        }
        let first = bytes[..<split].withUnsafeBytes { parser.parse($0) }
        guard first == .needMore else { return (first, parser) }
        let second = bytes[split...].withUnsafeBytes { parser.parse($0) }
        if case .complete(let start) = second { return (.complete(bodyStart: start + split), parser) }
        return (second, parser)
    }

    @Test func headerSectionsParseTheSameWholeOrSplitAnywhere() {
        let text = "Status: 404 Not Here\r\nContent-Type: text/plain\nX-A:  spaced  \r\n\r\nbody"
        for split in 0...text.utf8.count {
            let (step, parser) = Self.parse(text, splitAt: split)
            #expect(step == .complete(bodyStart: text.utf8.count - 4), "split at \(split)")
            #expect(parser.fields == [.init(name: "Status", value: "404 Not Here"), .init(name: "Content-Type", value: "text/plain"),
                                      .init(name: "X-A", value: "spaced")])
        }
    }

    @Test func theHeadComesFromStatusAndLocation() throws {
        func head(_ text: String) -> Result<CGIHeaderParser.Head, CGIHeaderParser.Malformed> {
            Self.parse(text).1.head()
        }
        #expect(try head("Status: 404 Not Here\n\n").get().status == 404)
        #expect(try head("Status: 404 Not Here\n\n").get().reason == "Not Here")
        #expect(try head("Status: 201\n\n").get().reason == nil)
        #expect(try head("Location: /elsewhere\n\n").get().status == 302)
        #expect(try head("Location: http://x/\nStatus: 301 Moved\n\n").get().status == 301)
        #expect(try head("Content-Type: text/plain\n\n").get().status == 200)
        let framed = try head("Content-Length: 5\nConnection: keep-alive\nTransfer-Encoding: chunked\nKeep-Alive: 5\nX: y\n\n").get()
        #expect(framed.hasContentLength)
        #expect(framed.fields == [.init(name: "Content-Length", value: "5"), .init(name: "X", value: "y")])
        for bad in ["Status: 99 Low\n\n", "Status: 600\n\n", "Status: abc\n\n", "Status: 2000\n\n", "Status: 20\n\n",
                    "Content-Length: 5x\n\n", "Content-Length: -1\n\n"] {
            #expect(throws: CGIHeaderParser.Malformed.self, "\(bad)") { try head(bad).get() }
        }
    }

    @Test func malformedHeaderSectionsAreRefused() {
        for bad in ["no colon here\n\n", ": empty name\n\n", "Bad Name: x\n\n", " folded: x\n\n", "X: a\u{1}b\n\n", "X: a\rb\n\n"] {
            guard case .malformed = Self.parse(bad).0 else {
                Issue.record("accepted \(PythonText.repr(bad))")
                continue
            }
        }
        let long = String(repeating: "X: \(String(repeating: "a", count: 1000))\n", count: 70)
        guard case .malformed = Self.parse(long).0 else { Issue.record("accepted an endless header section"); return }
        let many = String(repeating: "X: a\n", count: 101)
        guard case .malformed = Self.parse(many).0 else { Issue.record("accepted 101 fields"); return }
    }
}
