import HTTPServerHTTP1
import Testing

/// The places where the RFC 9112 grammar audit (docs/rfc9112-conformance.md) found the parser
/// letting through what the grammar does not allow. Each case is fed whole, split at every index
/// and byte by byte.
struct GrammarCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: [UInt8]
    /// nil: one message accepted.
    var error: ParseError.Kind?
    var testDescription: String { name }
}

private func chunked(_ sizeLine: String) -> [UInt8] {
    latin1Bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(sizeLine)\r\nhello\r\n0\r\n\r\n")
}

private func target(_ bytes: [UInt8]) -> [UInt8] {
    latin1Bytes("GET ") + bytes + latin1Bytes(" HTTP/1.1\r\nHost: a\r\n\r\n")
}

let grammarCases: [GrammarCase] = [
    // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
    // BWS only ever comes before a ";" or "=" or after one: never alone before the CRLF.
    GrammarCase(name: "chunkSizeTrailingSpace", raw: chunked("5 "), error: .badChunk),
    GrammarCase(name: "chunkSizeTrailingTab", raw: chunked("5\t"), error: .badChunk),
    GrammarCase(name: "chunkSizeTrailingSpaces", raw: chunked("5   "), error: .badChunk),
    GrammarCase(name: "chunkExtensionNameTrailingSpace", raw: chunked("5;x "), error: .badChunk),
    GrammarCase(name: "chunkExtensionTokenTrailingSpace", raw: chunked("5;x=y "), error: .badChunk),
    GrammarCase(name: "chunkExtensionQuotedTrailingSpace", raw: chunked("5;x=\"y\" "), error: .badChunk),
    GrammarCase(name: "chunkExtensionEmptyName", raw: chunked("5;"), error: .badChunk),
    GrammarCase(name: "chunkExtensionEmptyValue", raw: chunked("5;x="), error: .badChunk),
    GrammarCase(name: "chunkExtensionSpaceBeforeSemicolon", raw: chunked("5 ;x"), error: nil),
    GrammarCase(name: "chunkExtensionSpacesAroundEquals", raw: chunked("5 ; x = y"), error: nil),
    GrammarCase(name: "chunkExtensionQuotedThenCRLF", raw: chunked("5;x=\"y z\""), error: nil),
    GrammarCase(name: "chunkExtensionQuotedThenNext", raw: chunked("5;x=\"y\" ; z"), error: nil),
    GrammarCase(name: "chunkExtensionNameOnly", raw: chunked("5;x;y"), error: nil),
    GrammarCase(name: "lastChunkTrailingSpace",
                raw: latin1Bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0 \r\n\r\n"), error: .badChunk),
    // RFC 9112 §3.2 builds every request-target form from RFC 3986, which is ASCII only:
    // a byte ≥ 0x80 is not a URI character (clients percent-encode it).
    GrammarCase(name: "targetUTF8", raw: target(latin1Bytes("/caf") + [0xC3, 0xA9]), error: .badRequestLine),
    GrammarCase(name: "targetHighByteFirst", raw: target([0x80]), error: .badRequestLine),
    GrammarCase(name: "targetHighByteAfterSlash", raw: target(latin1Bytes("/") + [0xFF]), error: .badRequestLine),
    GrammarCase(name: "targetHighByteInQuery", raw: target(latin1Bytes("/a?b=") + [0xE9]), error: .badRequestLine),
    GrammarCase(name: "absoluteFormHighByte",
                raw: target(latin1Bytes("http://a/") + [0xE9]), error: .badRequestLine),
    // No request-target form has a fragment (RFC 9112 §3.2; absolute-URI has none either).
    GrammarCase(name: "targetFragment", raw: target(latin1Bytes("/a#b")), error: .badRequestLine),
    GrammarCase(name: "absoluteFormFragmentInAuthority", raw: target(latin1Bytes("http://h#x/y")), error: .badRequestLine),
    GrammarCase(name: "asteriskFormOnlyOPTIONS", raw: target(latin1Bytes("*")), error: .badRequestLine),
    GrammarCase(name: "targetPercentEncodedUTF8", raw: target(latin1Bytes("/caf%C3%A9")), error: nil),
    GrammarCase(name: "versionHighByte",
                raw: latin1Bytes("GET / HTTP/1.") + [0xB1] + latin1Bytes("\r\nHost: a\r\n\r\n"), error: .badRequestLine),
]

@Suite struct GrammarAuditTests {
    @Test(arguments: grammarCases)
    func grammar(_ c: GrammarCase) {
        let outcome = ParserDriver.allWays(c.raw, limits: ParserLimits())
        if let error = c.error {
            #expect(outcome.error?.kind == error, "\(c.name): \(outcome)")
            #expect(outcome.error?.status == 400, "\(c.name)")
            #expect(outcome.messages.isEmpty, "\(c.name)")
        } else {
            #expect(outcome.error == nil, "\(c.name): \(outcome)")
            #expect(outcome.messages.count == 1, "\(c.name)")
        }
    }

    /// The target is scanned eight bytes at a time: a byte ≥ 0x80 is caught at every offset of a
    /// long target, first and last byte of a word included.
    @Test(arguments: 0..<40)
    func highByteInTargetAtEveryOffset(_ offset: Int) {
        for bad: UInt8 in [0x80, 0xA9, 0xC3, 0xFF] {
            var bytes = Array(repeating: UInt8(ascii: "t"), count: 40)
            bytes[offset] = bad
            let outcome = ParserDriver.whole(target(latin1Bytes("/") + bytes), limits: ParserLimits())
            #expect(outcome.error?.kind == .badRequestLine, "byte \(bad) at \(offset)")
        }
    }
}
