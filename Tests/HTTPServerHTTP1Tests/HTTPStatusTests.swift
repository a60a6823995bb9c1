import HTTPServerHTTP1
import Testing

// Values from CPython 3.11's http.HTTPStatus.
struct StatusVector: Sendable, CustomTestStringConvertible {
    let code: Int, phrase: String, explanation: String
    var testDescription: String { String(code) }
}

let statusVectors: [StatusVector] = [
    .init(code: 100, phrase: "Continue", explanation: "Request received, please continue"),
    .init(code: 200, phrase: "OK", explanation: "Request fulfilled, document follows"),
    .init(code: 206, phrase: "Partial Content", explanation: "Partial content follows"),
    .init(code: 301, phrase: "Moved Permanently", explanation: "Object moved permanently -- see URI list"),
    .init(code: 404, phrase: "Not Found", explanation: "Nothing matches the given URI"),
    .init(code: 418, phrase: "I'm a Teapot", explanation: "Server refuses to brew coffee because it is a teapot."),
    .init(code: 425, phrase: "Too Early", explanation: ""),
    .init(code: 431, phrase: "Request Header Fields Too Large",
          explanation: "The server is unwilling to process the request because its header fields are too large"),
    .init(code: 500, phrase: "Internal Server Error", explanation: "Server got itself in trouble"),
    .init(code: 505, phrase: "HTTP Version Not Supported", explanation: "Cannot fulfill request"),
    .init(code: 511, phrase: "Network Authentication Required",
          explanation: "The client needs to authenticate to gain network access"),
]

@Suite struct HTTPStatusTests {
    @Test(arguments: statusVectors)
    func matchesPython(_ v: StatusVector) {
        let status = HTTPStatus(v.code)
        #expect(status.phrase == v.phrase)
        #expect(status.explanation == v.explanation)
    }

    @Test func tableHasEveryPythonCode() {
        #expect(HTTPStatus.table.count == 62)  // len(http.HTTPStatus) in CPython 3.11
        #expect(HTTPStatus(299).phrase == nil)
        let literal: HTTPStatus = 404
        #expect(literal == HTTPStatus.notFound && literal.description == "404")
    }

    @Test func parseErrorsCarryStatuses() {
        #expect(ParseError.Kind.badChunk.name == "badChunk")
        #expect(ParseError(.bodyTooLarge, status: 413).description == "bodyTooLarge (413)")
    }
}

