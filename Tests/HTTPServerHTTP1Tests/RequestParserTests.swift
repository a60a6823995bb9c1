import HTTPServerHTTP1
import Testing

/// What a case expects of one message; nil fields are not checked.
struct ExpectedMessage: Sendable {
    var method: String
    var target: String
    var version: String
    var headers: [[String]]
    var body: String = ""
    var trailers: [[String]] = []
    var framing: BodyFraming? = nil
    var flags: Set<String>? = nil

    func check(_ m: ParsedMessage, _ name: String) {
        #expect(m.method == method, "\(name)")
        #expect(m.target == target, "\(name)")
        #expect(m.version == version, "\(name)")
        #expect(m.headers == headers, "\(name)")
        #expect(latin1(m.body) == body, "\(name)")
        #expect(m.trailers == trailers, "\(name)")
        if let framing { #expect(m.framing == framing, "\(name)") }
        if let flags {
            var actual: Set<String> = []
            if m.connectionClose { actual.insert("close") }
            if m.connectionKeepAlive { actual.insert("keep-alive") }
            if m.expectsContinue { actual.insert("100-continue") }
            if m.isConnect { actual.insert("connect") }
            #expect(actual == flags, "\(name)")
        }
    }
}

struct ParserCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    /// Without the missing-Host rule: these cases are about other rules, and many predate it
    /// (HostTests has the Host rules, under the default limits).
    var limits = ParserLimits.hostOptional
    var messages: [ExpectedMessage] = []
    /// The error after `messages`, if any.
    var error: ParseError.Kind? = nil
    var status: Int? = nil
    var incomplete = false
    var testDescription: String { name }
}

func get(_ target: String = "/", _ headers: [[String]] = [["Host", "a"]], version: String = "HTTP/1.1") -> ExpectedMessage {
    ExpectedMessage(method: "GET", target: target, version: version, headers: headers, framing: BodyFraming.none)
}

func limits(_ change: (inout ParserLimits) -> Void) -> ParserLimits {
    var l = ParserLimits.hostOptional
    change(&l)
    return l
}

let te = ["Transfer-Encoding", "chunked"]
let host = ["Host", "a"]

let parserCases: [ParserCase] = [
    ParserCase(name: "simpleGET", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", messages: [get()]),
    ParserCase(name: "leadingEmptyLinesIgnored", raw: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", messages: [get()]),
    ParserCase(name: "leadingBareLFRejected", raw: "\nGET / HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "trailingEmptyLinesBetweenPipelined",
               raw: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
               messages: [get("/1"), get("/2")]),
    ParserCase(name: "pipelined",
               raw: "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
               messages: [get("/a"),
                          ExpectedMessage(method: "POST", target: "/b", version: "HTTP/1.1",
                                          headers: [host, ["Content-Length", "5"]], body: "hello", framing: .contentLength(5)),
                          get("/c")]),
    ParserCase(name: "http09", raw: "GET /path\r\n", messages: [get("/path", [], version: "")]),
    ParserCase(name: "http09PostRejected", raw: "POST /path\r\n", error: .badHTTP09Method, status: 400),
    ParserCase(name: "http20NotSupported", raw: "GET / HTTP/2.0\r\n\r\n", error: .versionNotSupported, status: 505),
    ParserCase(name: "http35NotSupported", raw: "GET / HTTP/3.5\r\n\r\n", error: .versionNotSupported, status: 505),
    ParserCase(name: "http12Accepted", raw: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", messages: [get(version: "HTTP/1.2")]),
    ParserCase(name: "http10KeepAlive",
               raw: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n",
               messages: [ExpectedMessage(method: "GET", target: "/", version: "HTTP/1.0",
                                          headers: [["Connection", "Keep-Alive"]], flags: ["keep-alive"]),
                          get("/2", [], version: "HTTP/1.0")]),
    ParserCase(name: "versionLowercase", raw: "GET / http/1.1\r\n\r\n", error: .badVersion, status: 400),
    ParserCase(name: "versionTwoDigits", raw: "GET / HTTP/1.10\r\n\r\n", error: .badVersion, status: 400),
    ParserCase(name: "versionOtherProtocol", raw: "GET / ICE/1.0\r\n\r\n", error: .badVersion, status: 400),
    ParserCase(name: "requestLineTrailingSpace", raw: "GET / HTTP/1.1 \r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "requestLineDoubleSpace", raw: "GET  / HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "requestLineOneWord", raw: "GET\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "requestLineBareLF", raw: "GET / HTTP/1.1\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "requestLineBareCR", raw: "GET / HTTP/1.1\rX: y\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "targetWithDEL", raw: "GET /a\u{7f}b HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "targetWithNUL", raw: "GET /a\u{0}b HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "methodCustomToken", raw: "FOO-BAR!#$%&'*+.^_`|~ / HTTP/1.1\r\n\r\n",
               messages: [ExpectedMessage(method: "FOO-BAR!#$%&'*+.^_`|~", target: "/", version: "HTTP/1.1", headers: [])]),
    ParserCase(name: "methodNonToken", raw: "G(T / HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "methodTooLong", raw: String(repeating: "A", count: 40) + " / HTTP/1.1\r\n\r\n",
               limits: limits { $0.maxMethodLength = 32 }, error: .methodTooLong, status: 501),
    ParserCase(name: "absoluteForm", raw: "GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n",
               messages: [get("http://example.com/x?y", [["Host", "example.com"]])]),
    ParserCase(name: "asteriskOptions", raw: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
               messages: [ExpectedMessage(method: "OPTIONS", target: "*", version: "HTTP/1.1", headers: [host])]),
    ParserCase(name: "asteriskGetRejected", raw: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "authorityFormGetRejected", raw: "GET a.com:80 HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    ParserCase(name: "connectAuthorityIgnoresContentLength",
               raw: "CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\nContent-Length: 3\r\n\r\nabc",
               messages: [ExpectedMessage(method: "CONNECT", target: "a.com:443", version: "HTTP/1.1",
                                          headers: [["Host", "a.com:443"], ["Content-Length", "3"]],
                                          framing: BodyFraming.none, flags: ["connect"])]),
    ParserCase(name: "connectOriginFormRejected", raw: "CONNECT /x HTTP/1.1\r\n\r\n", error: .badRequestLine, status: 400),
    // Header section.
    ParserCase(name: "headerValueOWSTrimmedAndDuplicatesKept",
               raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: \t 1 \t\r\nx-a: 2\r\nX-Empty:\r\nX-Empty2: \t \r\n\r\n",
               messages: [get("/", [host, ["X-A", "1"], ["x-a", "2"], ["X-Empty", ""], ["X-Empty2", ""]])]),
    ParserCase(name: "headerValueInnerSpaceKept", raw: "GET / HTTP/1.1\r\nX: a  b\tc\r\n\r\n",
               messages: [get("/", [["X", "a  b\tc"]])]),
    ParserCase(name: "headerObsTextKept", raw: "GET / HTTP/1.1\r\nX: caf\u{e9}\r\n\r\n",
               messages: [get("/", [["X", "caf\u{e9}"]])]),
    ParserCase(name: "headerSpaceBeforeColon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerObsFold", raw: "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerLeadingWhitespaceFirstLine", raw: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerEmptyName", raw: "GET / HTTP/1.1\r\n: a\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerNoColon", raw: "GET / HTTP/1.1\r\nHost\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerNUL", raw: "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerFormFeed", raw: "GET / HTTP/1.1\r\nX: \u{c}\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerBareCR", raw: "GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headerBareLF", raw: "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", error: .badHeader, status: 400),
    ParserCase(name: "headEndBareLF", raw: "GET / HTTP/1.1\r\nX: a\r\n\n", error: .badHeader, status: 400),
    ParserCase(name: "connectionTokens",
               raw: "GET / HTTP/1.1\r\nConnection: Keep-Alive, foo,  CLOSE \r\nExpect: 100-Continue\r\n\r\n",
               messages: [get("/", [["Connection", "Keep-Alive, foo,  CLOSE"], ["Expect", "100-Continue"]])
                   .with { $0.flags = ["close", "keep-alive", "100-continue"] }]),
    ParserCase(name: "connectionCloseStops", raw: "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
               messages: [get("/", [["Connection", "close"]]).with { $0.flags = ["close"] }]),
    ParserCase(name: "duplicateHost", raw: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", error: .badHost, status: 400),
    ParserCase(name: "missingHostAccepted", raw: "GET / HTTP/1.1\r\n\r\n", messages: [get("/", [])]),
    ParserCase(name: "missingHostRequired", raw: "GET / HTTP/1.1\r\n\r\n", limits: limits { $0.requireHost = true },
               error: .badHost, status: 400),
    ParserCase(name: "missingHostHTTP10Fine", raw: "GET / HTTP/1.0\r\n\r\n", limits: limits { $0.requireHost = true },
               messages: [get("/", [], version: "HTTP/1.0")]),
    // Limits.
    ParserCase(name: "requestLineTooLong", raw: "GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\n\r\n",
               limits: limits { $0.maxRequestLineLength = 32 }, error: .requestLineTooLong, status: 414),
    ParserCase(name: "requestLineTooLongWithoutCRLF", raw: "GET /" + String(repeating: "a", count: 40),
               limits: limits { $0.maxRequestLineLength = 32 }, error: .requestLineTooLong, status: 414),
    ParserCase(name: "requestLineAtLimit", raw: "GET /" + String(repeating: "a", count: 18) + " HTTP/1.1\r\n\r\n",
               limits: limits { $0.maxRequestLineLength = 32 },
               messages: [get("/" + String(repeating: "a", count: 18), [])]),
    ParserCase(name: "headerLineTooLong", raw: "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 40) + "\r\n\r\n",
               limits: limits { $0.maxHeaderLineLength = 32 }, error: .headerLineTooLong, status: 431),
    ParserCase(name: "headerLineTooLongWithoutCRLF", raw: "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 40),
               limits: limits { $0.maxHeaderLineLength = 32 }, error: .headerLineTooLong, status: 431),
    ParserCase(name: "headerLineAtLimit", raw: "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 29) + "\r\n\r\n",
               limits: limits { $0.maxHeaderLineLength = 32 },
               messages: [get("/", [["X", String(repeating: "v", count: 29)]])]),
    ParserCase(name: "tooManyHeaders", raw: "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
               limits: limits { $0.maxHeaderCount = 3 }, error: .tooManyHeaders, status: 431),
    ParserCase(name: "headerCountAtLimit", raw: "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
               limits: limits { $0.maxHeaderCount = 3 }, messages: [get("/", [["A", "1"], ["B", "2"], ["C", "3"]])]),
    ParserCase(name: "headTooLarge", raw: "GET / HTTP/1.1\r\nA: 1234567890\r\nB: 1234567890\r\nC: 1234567890\r\n\r\n",
               limits: limits { $0.maxHeadSize = 48 }, error: .headTooLarge, status: 431),
    ParserCase(name: "bodyTooLargeContentLength", raw: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
               limits: limits { $0.maxBodySize = 4 }, error: .bodyTooLarge, status: 413),
    ParserCase(name: "bodyTooLargeChunked", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
               limits: limits { $0.maxBodySize = 4 },
               error: .bodyTooLarge, status: 413),
    // Content-Length.
    ParserCase(name: "contentLengthListIdentical", raw: "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
               messages: [ExpectedMessage(method: "POST", target: "/", version: "HTTP/1.1",
                                          headers: [["Content-Length", "3, 3"], ["Content-Length", "3"]], body: "abc",
                                          framing: .contentLength(3))]),
    ParserCase(name: "contentLengthListDiffering", raw: "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabc",
               error: .badContentLength, status: 400),
    ParserCase(name: "contentLengthEmpty", raw: "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", error: .badContentLength, status: 400),
    ParserCase(name: "contentLengthSign", raw: "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", error: .badContentLength, status: 400),
    ParserCase(name: "contentLengthOverflow", raw: "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
               error: .badContentLength, status: 400),
    ParserCase(name: "contentLengthZero", raw: "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
               messages: [ExpectedMessage(method: "POST", target: "/", version: "HTTP/1.1", headers: [["Content-Length", "0"]],
                                          framing: .contentLength(0)), get("/", [])]),
    ParserCase(name: "contentLengthBodyIncomplete", raw: "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", incomplete: true),
    // Transfer-Encoding.
    ParserCase(name: "chunkedWithExtensionsAndTrailers",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d\\\"e;\" ;f\r\nhello\r\n6 ; g = h\r\n world\r\n0;last\r\nT1: x \r\nT2: y\r\n\r\nGET / HTTP/1.1\r\n\r\n",
               messages: [ExpectedMessage(method: "POST", target: "/", version: "HTTP/1.1", headers: [te], body: "hello world",
                                          trailers: [["T1", "x"], ["T2", "y"]], framing: .chunked),
                          get("/", [])]),
    ParserCase(name: "chunkedUppercaseHexAndZeros",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0A\r\n0123456789\r\n000\r\n\r\n",
               messages: [ExpectedMessage(method: "POST", target: "/", version: "HTTP/1.1", headers: [te], body: "0123456789")]),
    ParserCase(name: "chunkedListAcrossLines",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\ntransfer-encoding: CHUNKED\r\n\r\n1\r\nA\r\n0\r\n\r\n",
               messages: [ExpectedMessage(method: "POST", target: "/", version: "HTTP/1.1",
                                          headers: [["Transfer-Encoding", ","], ["transfer-encoding", "CHUNKED"]], body: "A")]),
    ParserCase(name: "chunkSizeOverflow", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
               error: .badChunk, status: 400),
    ParserCase(name: "chunkSizeLeadingSpace", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
               error: .badChunk, status: 400),
    ParserCase(name: "chunkSize0x", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
               error: .badChunk, status: 400),
    ParserCase(name: "chunkSizeUnderscore", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n", error: .badChunk, status: 400),
    ParserCase(name: "chunkDataTooShort", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n",
               error: .badChunk, status: 400),
    ParserCase(name: "chunkDataMissingLF", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX",
               error: .badChunk, status: 400),
    ParserCase(name: "chunkExtensionUnterminatedQuote",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n", error: .badChunk, status: 400),
    ParserCase(name: "chunkExtensionBadByte",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a@\r\nhello\r\n0\r\n\r\n", error: .badChunk, status: 400),
    ParserCase(name: "chunkLineTooLong",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "x", count: 40) + "\r\nhello\r\n0\r\n\r\n",
               limits: limits { $0.maxChunkLineLength = 16 }, error: .badChunk, status: 400),
    ParserCase(name: "trailerObsFold",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", error: .badChunk, status: 400),
    ParserCase(name: "trailersTooLarge",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1234567890\r\nY: 1234567890\r\n\r\n",
               limits: limits { $0.maxTrailerSize = 20 }, error: .trailersTooLarge, status: 431),
    ParserCase(name: "chunkedMissingLastChunkAtEOF",
               raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n", incomplete: true),
    ParserCase(name: "transferEncodingGzipChunked", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
               error: .unsupportedTransferCoding, status: 501),
    ParserCase(name: "transferEncodingChunkedNotLast", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
               error: .badTransferEncoding, status: 400),
    ParserCase(name: "transferEncodingChunkedTwice", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               error: .badTransferEncoding, status: 400),
    ParserCase(name: "transferEncodingChunkedParameter", raw: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
               error: .badTransferEncoding, status: 400),
    ParserCase(name: "transferEncodingWithContentLength",
               raw: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               error: .badContentLength, status: 400),
    ParserCase(name: "transferEncodingHTTP10", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               error: .badTransferEncoding, status: 400),
]

extension ExpectedMessage {
    func with(_ change: (inout ExpectedMessage) -> Void) -> ExpectedMessage {
        var copy = self
        change(&copy)
        return copy
    }
}

@Suite struct RequestParserTests {
    @Test(arguments: parserCases)
    func parses(_ c: ParserCase) {
        let outcome = ParserDriver.allWays(latin1Bytes(c.raw), limits: c.limits)
        #expect(outcome.messages.count == c.messages.count, "\(c.name): \(outcome)")
        for (m, e) in zip(outcome.messages, c.messages) { e.check(m, c.name) }
        #expect(outcome.error?.kind == c.error, "\(c.name): \(outcome)")
        if let status = c.status { #expect(outcome.error?.status == status, "\(c.name)") }
        #expect(outcome.isIncompleteAtEOF == c.incomplete, "\(c.name): \(outcome)")
    }

    @Test func bodyIsReturnedAsSoonAsAvailable() throws {
        var parser = RequestParser(limits: .hostOptional)
        var bytes = Array("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8)
        let first = try bytes.withUnsafeBytes { try parser.parse($0) }
        #expect(first == .head(consumed: 39))
        bytes.removeFirst(39)
        #expect(try bytes.withUnsafeBytes { try parser.parse($0) } == .body(0..<3))
        #expect(parser.isMidMessage)
        #expect(try [UInt8]().withUnsafeBytes { try parser.parse($0) } == .needMore(consumed: 0))
    }

    @Test func headPhaseConsumesNothingUntilComplete() throws {
        var parser = RequestParser(limits: .hostOptional)
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)
        #expect(try bytes.withUnsafeBytes { try parser.parse($0) } == .needMore(consumed: 0))
        #expect(parser.isMidMessage)
        let more = bytes + Array("\r\n".utf8)
        #expect(try more.withUnsafeBytes { try parser.parse($0) } == .head(consumed: more.count))
        #expect(try [UInt8]().withUnsafeBytes { try parser.parse($0) } == .end(consumed: 0))
        #expect(!parser.isMidMessage)
    }

    @Test func emptyLinesAloneAreNotMidMessage() throws {
        var parser = RequestParser(limits: .hostOptional)
        let bytes = Array("\r\n\r\n\r".utf8)
        #expect(try bytes.withUnsafeBytes { try parser.parse($0) } == .needMore(consumed: 4))
        #expect(!parser.isMidMessage)
    }

    @Test func resetAfterErrorParsesAgain() throws {
        var parser = RequestParser(limits: .hostOptional)
        #expect(throws: ParseError.self) { try Array("BAD\u{1}".utf8).withUnsafeBytes { try parser.parse($0) } }
        parser.reset()
        let bytes = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        #expect(try bytes.withUnsafeBytes { try parser.parse($0) } == .head(consumed: bytes.count))
    }

    @Test func headerLookupHelpers() throws {
        var parser = RequestParser(limits: .hostOptional)
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\naccept: y\r\nConnection: foo, Upgrade\r\n\r\n".utf8)
        _ = try bytes.withUnsafeBytes { try parser.parse($0) }
        bytes.withUnsafeBytes { buffer in
            let accept = parser.head.firstField(named: "accept", in: buffer)
            #expect(accept.map { latin1(buffer[$0.value]) } == "x")
            #expect(parser.head.firstField(named: "missing", in: buffer) == nil)
            let connection = parser.head.firstField(named: "connection", in: buffer)!
            #expect(asciiTokenListContains(buffer, connection.value, "upgrade"))
            #expect(!asciiTokenListContains(buffer, connection.value, "close"))
            #expect(asciiCaseInsensitiveEquals(buffer, parser.head.method, "get"))
            #expect(parser.head.isKeepAlive)
        }
    }

    @Test func steadyStateKeepsHeaderCapacity() throws {
        var parser = RequestParser(limits: .hostOptional)
        let bytes = Array("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        _ = try bytes.withUnsafeBytes { try parser.parse($0) }
        let capacity = parser.head.headers.capacity
        parser.reset()
        #expect(parser.head.headers.isEmpty)
        #expect(parser.head.headers.capacity == capacity)
    }
}
