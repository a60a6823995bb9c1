import HTTPServerKit
import HTTPServerTesting
import Testing

/// The response reader on its own: framing by the rules of RFC 9112 §6.3, strictly.
@Suite struct ResponseReaderTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func contentLengthChunkedAndEndOfInputFraming() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\ndef\r\n0\r\nT: v\r\n\r\n"
            + "HTTP/1.0 200 OK\r\n\r\nuntil the end"
        let open = try ResponseReader.parse(Self.bytes(text), atEOF: false)
        #expect(open.responses.map(\.bodyText) == ["abc", "def"])
        #expect(open.responses[1].trailers["T"] == "v")
        let closed = try ResponseReader.parse(Self.bytes(text), atEOF: true)
        #expect(closed.responses.map(\.bodyText) == ["abc", "def", "until the end"])
        #expect(closed.consumed == text.utf8.count)
    }

    @Test func interimResponsesAttachToTheFinalOne() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
        let result = try ResponseReader.parse(Self.bytes(text), atEOF: false)
        #expect(result.responses.count == 1)
        #expect(result.responses[0].status == 201)
        #expect(result.responses[0].interim.map(\.status) == [100, 103])
        #expect(result.responses[0].interim[1].headers["Link"] == "</a>")
        // Interim alone: not consumed, so it is read again with its final response.
        let alone = try ResponseReader.parse(Self.bytes("HTTP/1.1 100 Continue\r\n\r\n"), atEOF: false)
        #expect(alone.responses.isEmpty && alone.consumed == 0)
    }

    @Test func bodylessStatusesAndHEAD() throws {
        let text = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        let result = try ResponseReader.parse(Self.bytes(text), atEOF: false, isHEAD: { $0 == 2 })
        #expect(result.responses.map(\.status) == [204, 304, 200])
        #expect(result.responses.allSatisfy { $0.body.isEmpty })
    }

    @Test func incompleteResponsesWait() throws {
        for text in ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "HTTP/1.1 200 OK\r\nContent-Le",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"] {
            let result = try ResponseReader.parse(Self.bytes(text), atEOF: false)
            #expect(result.responses.isEmpty && result.consumed == 0, "\(text.debugDescription)")
        }
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var text: String
        var testDescription: String { text.debugDescription }
    }

    @Test(arguments: [
        Malformed(text: "HTTP/1.1 2000 OK\r\n\r\n"),
        Malformed(text: "HTTX/1.1 200 OK\r\n\r\n"),
        Malformed(text: "hello world\r\n\r\n"),
        Malformed(text: "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        Malformed(text: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
        Malformed(text: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        Malformed(text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        Malformed(text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n"),
    ])
    func malformedResponsesAreErrors(_ c: Malformed) {
        #expect(throws: ResponseReader.Failure.self) {
            _ = try ResponseReader.parse(Self.bytes(c.text), atEOF: true)
        }
    }

    @Test func responsesAnsweringSentRequests() throws {
        let client = TestClient(handler: Greeter.self)
        _ = try client.sendRaw("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let again = try ResponseReader.parse(client.receivedBytes, atEOF: false, answering: client.requestsSent)
        #expect(again.responses.map(\.body.count) == [0, 13])
    }

    @Test func matchesIgnoresDateValues() throws {
        let a = try ResponseReader.parse(Self.bytes("HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 1\r\n\r\na"), atEOF: false)
        let b = try ResponseReader.parse(Self.bytes("HTTP/1.1 200 OK\r\nDate: y\r\nContent-Length: 1\r\n\r\na"), atEOF: false)
        #expect(a.responses[0].matches(b.responses[0]))
        #expect(a.responses[0] != b.responses[0])
        #expect(!a.responses[0].matches(b.responses[0], ignoring: []))
    }
}
