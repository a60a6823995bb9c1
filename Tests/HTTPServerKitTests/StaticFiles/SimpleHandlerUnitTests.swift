import Foundation
import Testing
import HTTPServerKit
@testable import HTTPServerStaticFiles

/// Pure pieces of SimpleHTTPRequestHandler, checked against tables CPython 3.11.7 produced
/// (SimplePythonExpectationsTests.swift) and against RFC 9110.
@Suite struct SimpleHandlerUnitTests {
    static let directory = "/srv/www"

    @Test(arguments: SimplePythonExpectations.translatePath)
    func translatePathMatchesCPython(_ input: String, _ expected: [UInt32]) {
        // A lone surrogate (from %ED%B3%BF) cannot live in a Swift String: it becomes U+FFFD.
        #expect(PathTranslation.translate(input, directory: Self.directory) == PythonCodePoints.string(expected))
    }

    @Test(arguments: SimplePythonExpectations.normpath)
    func normalizeMatchesPosixpathNormpath(_ input: String, _ expected: String) {
        #expect(PathTranslation.normalize(input) == expected)
    }

    @Test(arguments: SimplePythonExpectations.unquote)
    func unquoteMatchesCPython(_ input: String, _ expected: [UInt32]) {
        #expect(PathTranslation.unquote(PythonCodePoints.codePoints(input)) == expected)
    }

    @Test(arguments: SimplePythonExpectations.guessType)
    func guessTypeMatchesCPythonDefaults(_ path: String, _ expected: String) {
        #expect(MIMETypes.contentType(forPath: path, extensionsMap: MIMETypes.simpleHandlerExtensionsMap) == expected)
    }

    /// `posixpath.splitext` answers (CPython 3.11.7).
    @Test(arguments: [
        (".bashrc", ""), ("a.", "."), ("..a", ""), ("a..b", ".b"), ("/x.y/z", ""), ("/x/.y.z", ".z"), ("a.b.c", ".c"),
        ("", ""), (".", ""), ("..", ""), ("...", ""), ("\u{e9}.TXT", ".TXT"), ("/d/\u{e9}\u{e8}.tar.gz", ".gz"), ("a/b.c/", ""),
    ])
    func splitExtensionMatchesPosixpath(_ path: String, _ ext: String) {
        let (base, found) = MIMETypes.splitExtension(Substring(path))
        #expect(found == ext)
        #expect(base + found == path)
    }

    /// The absolute-path shortcut of `contentType` answers as `mimetypes.guess_type` does.
    @Test(arguments: SimplePythonExpectations.guessType.filter { !$0.0.hasPrefix("data:") && !$0.0.hasPrefix("/") })
    func absolutePathShortcutAgrees(_ path: String, _ expected: String) {
        #expect(MIMETypes.contentType(forPath: "/srv/www/" + path, extensionsMap: MIMETypes.simpleHandlerExtensionsMap) == expected)
    }

    @Test func extensionsMapOverridesAndDefaultType() {
        let map = [".txt": "text/plain; charset=utf-8", ".LOG": "text/x-log"]
        #expect(MIMETypes.contentType(forPath: "a.TXT", extensionsMap: map) == "text/plain; charset=utf-8")
        #expect(MIMETypes.contentType(forPath: "a.LOG", extensionsMap: map) == "text/x-log")
        #expect(MIMETypes.contentType(forPath: "a.log", extensionsMap: map) == "application/octet-stream")
        #expect(MIMETypes.contentType(forPath: "a.unknown", extensionsMap: [:], defaultType: "text/plain") == "text/plain")
        #expect(MIMETypes.typesMap.count == 149)
    }

    @Test(arguments: SimplePythonExpectations.redirect)
    func directoryRedirectMatchesCPythonExceptOffSite(_ path: String, _ expected: String?) {
        let verdict = PathTranslation.directoryRedirect(for: path)
        if path.hasPrefix("/\\") {
            #expect(verdict == .refused)   // CPython redirects to "/\evil.example/…": a browser goes off-site.
        } else if let expected {
            #expect(verdict == .redirect(expected))
        } else {
            #expect(verdict == .none)
        }
    }

    @Test(arguments: ["//evil.example", "/\\evil.example", "/\t/evil.example", "\\\\evil", "/\\/x", " //x"])
    func redirectNeverLeavesTheHost(_ path: String) {
        if case .redirect(let location) = PathTranslation.directoryRedirect(for: path) {
            let head = location.prefix(2)
            #expect(!(head.allSatisfy { $0 == "/" || $0 == "\\" } && head.count == 2), "\(location)")
        }
    }

    @Test func nulByteIsABadRequest() {
        #expect(PathTranslation.verdict(forTranslated: PathTranslation.translate("/a%00b", directory: "/srv")) == .badRequest)
        #expect(PathTranslation.verdict(forTranslated: PathTranslation.translate("/a%01b", directory: "/srv")) == .serve("/srv/a\u{1}b"))
    }

    /// Hostile paths: whatever they decode to, the result is the directory plus plain names.
    static let hostilePaths: [String] = [
        "/..", "/../", "/../..", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc",
        "/a/../../../b", "/..%2f..%2f..%2fetc%2fpasswd", "/%252e%252e/x", "/..\\..\\etc\\passwd", "/%5c..%5c..%5cetc",
        "//..//..//etc", "/./././../x", "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc", "/%u002e%u002e/x", "/..;/x", "/..%00/x",
        "/.%2e/.%2e/x", "/%2e./%2e./x", "/....//....//x", "../../x", "..", "/x/..%2F..%2F..%2F", "/\u{2025}/x",
        "/%e2%80%a5/x", "/%ef%bc%8e%ef%bc%8e/x", "/a/b/c/../../../../../../../../etc", "/?/../../etc", "/#/../../etc",
    ]

    @Test(arguments: hostilePaths)
    func hostilePathsStayInside(_ path: String) {
        let result = PathTranslation.translate(path, directory: "/srv/www")
        #expect(result == "/srv/www" || result.hasPrefix("/srv/www/"))
        let rest = result.dropFirst("/srv/www".count).split(separator: "/", omittingEmptySubsequences: false)
        #expect(!rest.contains("..") && !rest.contains("."), "\(result)")
    }

    /// The ASCII fast path agrees with the general route wherever it answers.
    @Test(arguments: SimplePythonExpectations.translatePath.map(\.0) + SimpleHandlerUnitTests.hostilePaths + [
        "/a/b.txt", "/a/b/", "/...", "/a/.../b", "/.a/b.", "/a.b/c..d", "/x?y#z", "/x#y?z", "/", "/~user/a-b_c", "/a/..", "/a/.",
    ])
    func plainPathFastPathAgrees(_ path: String) {
        if let fast = PathTranslation.translatePlain(path, directory: "/srv/www") {
            #expect(fast == PathTranslation.translateGeneral(path, directory: "/srv/www"), "\(path)")
        }
    }

    // MARK: Range (RFC 9110 §14)

    static let rangeCases: [(String, Int, RangeRequest.Outcome)] = [
        ("bytes=0-499", 1000, .partial([0..<500])),
        ("bytes=500-", 1000, .partial([500..<1000])),
        ("bytes=-200", 1000, .partial([800..<1000])),
        ("bytes=-2000", 1000, .partial([0..<1000])),
        ("bytes=0-0,-1", 1000, .partial([0..<1, 999..<1000])),
        ("bytes=900-2000", 1000, .partial([900..<1000])),
        ("BYTES = 1-2 , 4-5", 10, .partial([1..<3, 4..<6])),
        ("bytes=1000-", 1000, .unsatisfiable),
        ("bytes=-0", 1000, .unsatisfiable),
        ("bytes=1000-1001, 2000-", 1000, .unsatisfiable),
        ("bytes=1000-1001, 5-5", 1000, .partial([5..<6])),
        ("bytes=5-1", 1000, .full),
        ("bytes=abc", 1000, .full),
        ("bytes=", 1000, .full),
        ("bytes=-", 1000, .full),
        ("items=0-1", 1000, .full),
        ("bytes=0-1;x", 1000, .full),
        ("bytes 0-1", 1000, .full),
        ("bytes=0-", 0, .full),
        ("bytes=-5", 0, .full),
        ("bytes=0-99999999999999999999999", 10, .partial([0..<10])),
        ("bytes=0-5,3-8", 10, .full),
        ("bytes=0-4,5-9", 10, .partial([0..<5, 5..<10])),
        ("bytes=,,0-1,,", 10, .partial([0..<2])),
    ]

    @Test(arguments: rangeCases)
    func rangeEvaluation(_ header: String, _ length: Int, _ expected: RangeRequest.Outcome) {
        #expect(RangeRequest.evaluate(header, length: length) == expected)
    }

    @Test func tooManyRangesGetTheWholeFile() {
        let header = "bytes=" + (0..<17).map { "\($0)-\($0)" }.joined(separator: ",")
        #expect(RangeRequest.evaluate(header, length: 1000) == .full)
    }

    @Test func multipartLayout() {
        let body = RangeRequest.Multipart(ranges: [0..<2, 5..<6], length: 10, contentType: "text/plain", boundary: "B")
        let file = Array("0123456789".utf8)
        var out: [UInt8] = []
        for part in body.parts { out += part.head + file[part.range] }
        out += body.closing
        let expected = "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01"
            + "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/10\r\n\r\n5\r\n--B--\r\n"
        #expect(String(decoding: out, as: UTF8.self) == expected)
        #expect(body.contentLength == out.count)
        #expect(body.contentType == "multipart/byteranges; boundary=B")
        let boundary = RangeRequest.Multipart.makeBoundary()
        #expect(boundary.count == "swift-http-server-".count + 20)
        #expect(boundary != RangeRequest.Multipart.makeBoundary())
    }

    // MARK: ETag and conditionals

    @Test func etagIsStrongOnlyForSettledFiles() {
        let settled = ETag(size: 1234, modifiedSeconds: 1_000_000, modifiedNanoseconds: 5, now: 1_000_010)
        #expect(settled.headerValue == "\"f4240.5-4d2\"")
        let fresh = ETag(size: 1234, modifiedSeconds: 1_000_000, modifiedNanoseconds: 5, now: 1_000_001)
        #expect(fresh.headerValue == "W/\"f4240.5-4d2\"")
        #expect(fresh.weaklyMatches(settled) && !fresh.stronglyMatches(settled) && settled.stronglyMatches(settled))
    }

    @Test(arguments: [
        ("\"f4240.5-4d2\"", true), ("W/\"f4240.5-4d2\"", true), ("\"x\", \"f4240.5-4d2\"", true), ("*", true),
        ("\"x\"", false), ("f4240.5-4d2", false), ("\"f4240.5-4d2", false), ("", false), ("\"a\" \"b\"", false),
    ])
    func ifNoneMatch(_ header: String, _ fails: Bool) {
        let tag = ETag(size: 1234, modifiedSeconds: 1_000_000, modifiedNanoseconds: 5, now: 1_000_010)
        #expect(ETag.ifNoneMatchFails(header, current: tag) == fails)
    }

    @Test(arguments: SimplePythonExpectations.dates)
    func ifModifiedSinceDatesParseAsCPython(_ text: String, _ epoch: Int64?, _ offset: Int?) {
        let parsed = PythonDateParser.parse(text)
        #expect(parsed?.epochSeconds == epoch)
        if epoch != nil { #expect(parsed?.utcOffset == offset) }
    }
}

extension RangeRequest.Outcome: CustomTestStringConvertible {
    public var testDescription: String { "\(self)" }
}
