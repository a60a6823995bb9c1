import Testing
@testable import BenchClient

struct ParserCase: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var headRequest = false
    /// Expected events, in order: status > 0 final, < 0 informational (negated).
    var expected: [ResponseSummary]
    var informational: [Int] = []
    var endOfInput = false
    var testDescription: String { name }
}

let cases: [ParserCase] = [
    ParserCase(name: "hello", bytes: Array("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 13, closes: false)]),
    ParserCase(name: "two pipelined", bytes: Array("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 2, closes: false),
                          ResponseSummary(status: 404, bodyLength: 0, closes: false)]),
    ParserCase(name: "chunked with trailer", bytes: Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 31, closes: false)]),
    ParserCase(name: "100 continue then 200 close", bytes: Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 3\r\n\r\nabc".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 3, closes: true)], informational: [100]),
    ParserCase(name: "HTTP/1.0 without keep-alive closes", bytes: Array("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 1, closes: true)]),
    ParserCase(name: "HEAD has no body", bytes: Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".utf8), headRequest: true,
               expected: [ResponseSummary(status: 200, bodyLength: 0, closes: false)]),
    ParserCase(name: "204 has no body, bare LF lines", bytes: Array("HTTP/1.1 204 No Content\nContent-Length: 5\n\n".utf8),
               expected: [ResponseSummary(status: 204, bodyLength: 0, closes: false)]),
    ParserCase(name: "body until close", bytes: Array("HTTP/1.0 200 OK\r\n\r\nsome body".utf8),
               expected: [ResponseSummary(status: 200, bodyLength: 9, closes: true)], endOfInput: true),
]

/// Feeds `bytes` in pieces split at `splits`; collects what the parser reports.
func run(_ c: ParserCase, pieces: [ArraySlice<UInt8>]) throws -> ([ResponseSummary], [Int]) {
    var parser = ResponseParser()
    parser.expectNoBody = c.headRequest
    var finals: [ResponseSummary] = []
    var infos: [Int] = []
    for piece in pieces {
        let buffer = Array(piece)
        try buffer.withUnsafeBytes { raw in
            var start = 0
            loop: while true {
                switch try parser.parse(raw, from: start) {
                case .needMore: break loop
                case .informational(let status, let consumed): infos.append(status); start = consumed
                case .response(let r, let consumed): finals.append(r); start = consumed
                }
            }
        }
    }
    if c.endOfInput, let r = parser.endOfInput() { finals.append(r) }
    return (finals, infos)
}

@Test(arguments: cases)
func wholeSplitAndBytewiseAgree(_ c: ParserCase) throws {
    let whole = try run(c, pieces: [c.bytes[...]])
    #expect(whole.0 == c.expected)
    #expect(whole.1 == c.informational)
    for split in 0...c.bytes.count {
        let r = try run(c, pieces: [c.bytes[..<split], c.bytes[split...]])
        #expect(r.0 == c.expected, "split at \(split)")
        #expect(r.1 == c.informational, "split at \(split)")
    }
    let bytewise = try run(c, pieces: c.bytes.indices.map { c.bytes[$0..<($0 + 1)] })
    #expect(bytewise.0 == c.expected)
}

@Test(arguments: [
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
func malformedResponsesThrow(_ text: String) {
    let bytes = Array(text.utf8)
    #expect(throws: ResponseParseError.self) {
        var parser = ResponseParser()
        try bytes.withUnsafeBytes { raw in
            var start = 0
            while true {
                switch try parser.parse(raw, from: start) {
                case .needMore: return
                case .informational(_, let consumed), .response(_, let consumed): start = consumed
                }
            }
        }
    }
}

@Test func pipelinedBatchRepeatsTheRequest() {
    let t = RequestTemplate(method: "POST", path: "/x", body: Array("abcd".utf8), expectContinue: true)
    let head = String(decoding: t.head, as: UTF8.self)
    #expect(head == "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    #expect(t.batch(depth: 3).count == 3 * (t.head.count + 4))
}

@Test func statsJSONHasTheFieldsTheRunnerReads() {
    var s = LoadStats()
    s.requests = 10
    s.recordLatency(nanoseconds: 150_000)
    s.count(error: "status")
    let j = s.json(durationSeconds: 2, connections: 4, pipeline: 1)
    #expect(j.contains("\"requests\":10"))
    #expect(j.contains("\"rps\":5.0"))
    #expect(j.contains("\"status\":1"))
    #expect(j.contains("\"p99\":150"))
}
