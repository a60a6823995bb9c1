// The disagreements with llhttp that are ours on purpose, and how each is recognised in an input.
// docs/reliability.md (FuzzDifferential) has each with the RFC text that makes ours right.
import CLLHTTP
import HTTPServerHTTP1

/// Disagreements that are ours on purpose (docs/reliability.md says why, with the RFC text).
enum Divergence {
    /// D1. Host (RFC 9112 §3.2): we answer 400 to an HTTP/1.1 request without Host, with two, or
    /// with one that is not `uri-host [ ":" port ]`; llhttp does not look at Host.
    case hostRules
    /// D2. llhttp knows a fixed list of methods; RFC 9110 §9.1 makes any token a method (501 is
    /// the handler's answer to one it does not implement, not the parser's). `PRI` included: only
    /// `PRI * HTTP/2.0` is the HTTP/2 preface (RFC 9113 §3.4), and that is a 505 here.
    case methodNotInLLHTTPList
    /// D3. HTTP/0.9: a two-word request line is one only with GET (RFC 1945 §4.1: Simple-Request
    /// = "GET" SP Request-URI CRLF), as in Python; llhttp takes any method there.
    case http09
    /// D4. The request-target's form must fit the method (RFC 9112 §3.2): `*` only for OPTIONS,
    /// authority-form only and always for CONNECT, absolute-form with a valid authority.
    case targetForm
    /// D5. HTTP/1.x with x ≥ 2 is served as HTTP/1.1 (Python; RFC 9110 §6.2: a recipient of a
    /// higher minor version treats it as the highest it speaks); HTTP/2.0 and above is 505; and
    /// the version is `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3), where llhttp also takes `ICE/1.0`
    /// (SHOUTcast) and `RTSP/1.0`. `HTTP/0.x` in a three-word line is served as HTTP/1.0 is
    /// (Python); llhttp takes only 0.9, 1.0, 1.1 and 2.0.
    case version
    /// D6. Transfer-Encoding must be a list of transfer-codings (token *( OWS ";" OWS
    /// transfer-parameter ), RFC 9112 §6.1, §7) with chunked once and last (§6.3 rule 4: 400),
    /// and codings other than chunked get 501 (§6.1); llhttp passes unknown and malformed
    /// elements before a final chunked through.
    case transferCoding
    /// D7. Transfer-Encoding in an HTTP/1.0 request: 400 (RFC 9112 §6.1: the recipient "MUST
    /// treat the message as if the framing is faulty"); llhttp decodes the chunked body.
    case transferEncodingInHTTP10
    /// D8. obs-fold (a field line starting with SP or HTAB): RFC 9112 §5.2 lets a server reject it
    /// with 400 or replace it with SP; we reject, llhttp unfolds.
    case obsFold
    /// D9. Whitespace (SP, HTAB) around a Transfer-Encoding element or a Content-Length value: OWS
    /// (RFC 9112 §5, RFC 9110 §5.6.1), not part of the value; llhttp refuses an HTAB or a trailing
    /// SP there.
    case transferEncodingWhitespace
    /// D10. Chunk extensions as RFC 9112 §7.1.1 writes them: BWS around `;` and `=`, values
    /// tokens or quoted-strings; llhttp refuses whitespace (and more) inside an extension.
    case chunkExtension
    /// D11. A bare LF ends no line: RFC 9112 §2.2 lets a recipient accept it ("MAY recognize a
    /// single LF"); we do not, and llhttp does in places. A bare CR is invalid (§2.2: "MUST
    /// consider that element to be invalid or replace each bare CR with SP"); llhttp skips
    /// CRs and LFs before a request.
    case bareLF
    /// D12. Not a disagreement: llhttp refuses a line at its first bad byte, we at its end (the
    /// version token is checked whole at its CR). Probed by ending the line and the head: we
    /// then refuse it too.
    case detectedLater
    /// D13. The request line is `method SP request-target SP HTTP-version`, one SP each (RFC 9112
    /// §3); §3 lets a recipient split on any whitespace instead, and llhttp takes more in places.
    case requestLineWhitespace
    /// D14. A `#` in the request-target: no form has a fragment (RFC 9112 §3.2: origin-form =
    /// absolute-path [ "?" query ]; absolute-form = absolute-URI, which has none); llhttp takes a
    /// fragment after an origin-form path.
    case fragment
    /// D15. A field line with an empty name (`: value`): field-name = token, one tchar at least
    /// (RFC 9110 §5.1, RFC 9112 §5); llhttp takes it.
    case emptyFieldName
    /// D16. Transfer-Encoding or Content-Length as a trailer field: kept apart from the header
    /// section (RFC 9112 §7.1.2: "MUST NOT merge a received trailer field into the header
    /// section" unless its definition allows it), so it frames nothing; llhttp refuses them.
    /// Likewise a Connection trailer does not end the connection (RFC 9110 §6.5.1: fields that
    /// control the connection cannot be processed outside the header section); llhttp obeys it.
    case framingFieldInTrailers
    /// D17. A Content-Length past Int.max (2^63 − 1) is a 400 here (RFC 9110 §8.6: a recipient
    /// "MUST anticipate potentially large decimal numerals and prevent parsing errors due to
    /// integer conversion overflows"); llhttp counts to 2^64 − 1. The same for a chunk size.
    case hugeContentLength
    /// D18. Content-Length repeated, or a list, of one value (`3`, `003`, `3, 3`): RFC 9112 §6.3
    /// rule 5 lets a recipient take it as that one value ("or replace the duplicated field-values
    /// with a single valid Content-Length"), as we do; llhttp refuses it.
    case repeatedContentLength
    /// D19. Content-Length = 1*DIGIT (RFC 9110 §8.6): an empty value, or an empty list element,
    /// is a 400 here; llhttp takes an empty value (as 0, or waits).
    case contentLengthSyntax
    /// D20. absolute-form and authority-form targets as RFC 3986 writes them (scheme = ALPHA
    /// *( ALPHA / DIGIT / "+" / "-" / "." ), sub-delims in a reg-name, IP literals); llhttp's URL
    /// parser takes a narrower set.
    case absoluteFormURL
    /// D21. Transfer-Encoding with Content-Length is a 400 whatever the Transfer-Encoding says,
    /// an empty one included (RFC 9112 §6.1: a server "MAY reject a request that contains both";
    /// §6.3 rule 3: such a message "ought to be handled as an error"); llhttp ignores an empty
    /// Transfer-Encoding and frames by Content-Length.
    case transferEncodingWithContentLength
    /// D22. Upgrade: we never switch protocols, and an Upgrade request's body is framed by its
    /// Content-Length or chunked coding as any other (RFC 9110 §7.8: the client "cannot begin
    /// using an upgraded protocol on the connection until it has completely sent the request
    /// message"); llhttp ends an upgrade request at its head and hands the rest over.
    case upgrade
}

/// Whether a line after `start` begins with a hex number past Int.max (a chunk size).
func hasHugeChunkSize(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    let bytes = Array(data[start...])
    var lineStart = 0
    for (i, b) in bytes.enumerated() where b == 10 || i == bytes.count - 1 {
        let line = bytes[lineStart...i].drop(while: { $0 == 13 || $0 == 10 })
        let digits = line.prefix(while: { ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66) })
            .drop(while: { $0 == 0x30 })
        if digits.count > 16 || (digits.count == 16 && digits.first! >= 0x38) { return true }
        lineStart = i + 1
    }
    return false
}

/// Whether a line after `start` is a chunk size with extensions (hex digits, BWS, `;`).
func hasChunkExtensions(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    let bytes = Array(data[start...])
    var lineStart = 0
    for (i, b) in bytes.enumerated() where b == 10 || i == bytes.count - 1 {
        let line = bytes[lineStart...i].drop(while: { $0 == 13 || $0 == 10 })
        let rest = line.drop(while: { ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66) })
        if rest.count < line.count, rest.drop(while: { $0 == 32 || $0 == 9 }).first == UInt8(ascii: ";") { return true }
        lineStart = i + 1
    }
    return false
}

/// Whether the Content-Length lines at `start` are more than one element, all of one value.
func hasRepeatedIdenticalContentLength(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var elements: [[UInt8]] = []
    for value in fieldValues(data, from: start, named: "content-length") {
        for element in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let trimmed = element.filter { $0 != 32 && $0 != 9 }
            guard !trimmed.isEmpty, trimmed.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
            elements.append(Array(trimmed.drop(while: { $0 == 0x30 })))
        }
    }
    return elements.count > 1 && elements.allSatisfy { $0 == elements[0] }
}

/// Whether a line of the message after `start` begins with `:`.
func hasLineStartingWithColon(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i + 2 < data.count {
        if data[i] == 13 && data[i + 1] == 10 && data[i + 2] == UInt8(ascii: ":") { return true }
        i += 1
    }
    return false
}

/// Whether the request line at `start` has whitespace other than two single SPs between words.
func requestLineHasOddWhitespace(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i + 1 < data.count && data[i] == 13 && data[i + 1] == 10 { i += 2 }
    var previous: UInt8 = 0
    let first = i
    while i < data.count && data[i] != 13 && data[i] != 10 {
        let b = data[i]
        if b == 9 || b == 11 || b == 12 { return true }
        if b == 32 && (previous == 32 || i == first) { return true }
        previous = b
        i += 1
    }
    return previous == 32
}

/// Whether our parser, given the line and the head ended (and a Host), rejects `data`.
func weRejectOnceTheLineEnds(_ data: UnsafeRawBufferPointer) -> Bool {
    let probe = Array(data) + Array("\r\nHost: a\r\n\r\n".utf8)
    return probe.withUnsafeBytes { OurFraming($0).error != nil }
}

/// Whether a LF not preceded by CR, or a CR not followed by LF, comes after `start`.
func hasBareLF(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i < data.count {
        // At `start` the byte before belongs to the previous message (a body ending in CR).
        if data[i] == 10 && (i == start || data[i - 1] != 13) { return true }
        if data[i] == 13 && i + 1 < data.count && data[i + 1] != 10 { return true }
        i += 1
    }
    return false
}

/// The values of the header lines of the head at `start` whose name is `name` (lowercase).
func fieldValues(_ data: UnsafeRawBufferPointer, from start: Int, named name: String) -> [ArraySlice<UInt8>] {
    var first = start
    while first + 1 < data.count && data[first] == 13 && data[first + 1] == 10 { first += 2 }  // empty lines
    let bytes = Array(data[first...])
    var values: [ArraySlice<UInt8>] = []
    var lineStart = 0
    var i = 0
    while i + 1 < bytes.count {
        if bytes[i] == 13 && bytes[i + 1] == 10 {
            let line = bytes[lineStart..<i]
            if line.isEmpty && lineStart > 0 { break }
            if let colon = line.firstIndex(of: UInt8(ascii: ":")),
               line[..<colon].map({ $0 | 0x20 }).elementsEqual(name.utf8) {
                values.append(line[(colon + 1)...])
            }
            lineStart = i + 2
            i += 2
            continue
        }
        i += 1
    }
    // The line in progress, when the input ends in it.
    let line = bytes[min(lineStart, bytes.count)...]
    if let colon = line.firstIndex(of: UInt8(ascii: ":")), line[..<colon].map({ $0 | 0x20 }).elementsEqual(name.utf8) {
        values.append(line[(colon + 1)...])
    }
    return values
}

/// Whether any line after `start` begins with SP or HTAB.
func hasObsFoldAnywhere(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i + 2 < data.count {
        if data[i] == 13 && data[i + 1] == 10 && (data[i + 2] == 32 || data[i + 2] == 9) { return true }
        i += 1
    }
    return false
}

/// Whether the head at `start` has a line beginning with SP or HTAB after the request line.
func headHasObsFold(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i + 1 < data.count && data[i] == 13 && data[i + 1] == 10 { i += 2 }  // leading empty lines
    while i + 2 < data.count {
        if data[i] == 13 && data[i + 1] == 10 {
            if data[i + 2] == 13 { return false }  // end of the head
            if data[i + 2] == 32 || data[i + 2] == 9 { return true }
        }
        i += 1
    }
    return false
}

/// The request line at `start` (after leading empty lines): method, target and version.
func requestLine(_ data: UnsafeRawBufferPointer, from start: Int) -> (method: ArraySlice<UInt8>, target: ArraySlice<UInt8>, version: ArraySlice<UInt8>) {
    var i = start
    while i + 1 < data.count && data[i] == 13 && data[i + 1] == 10 { i += 2 }
    let bytes = Array(data[i...])
    let lineEnd = bytes.firstIndex(of: 13) ?? bytes.count
    let line = bytes[..<lineEnd]
    let words = line.split(separator: 32, maxSplits: 2, omittingEmptySubsequences: false)
    return (words.first ?? [], words.count > 1 ? words[1] : [], words.count > 2 ? words[2] : [])
}

func isTargetFormRejection(_ data: UnsafeRawBufferPointer, from start: Int) -> Bool {
    let line = requestLine(data, from: start)
    let isConnect = line.method.elementsEqual("CONNECT".utf8)
    let isOptions = line.method.elementsEqual("OPTIONS".utf8)
    guard let first = line.target.first else { return false }
    if isConnect { return true }  // authority-form rules (ours) against llhttp's
    if first == UInt8(ascii: "*") { return !isOptions || line.target.count != 1 }
    return first != UInt8(ascii: "/")  // absolute-form: scheme "://" valid authority
}

/// Whether our error at this point is one of the divergences.
func explainOurRejection(_ error: ParseError, _ data: UnsafeRawBufferPointer, from start: Int) -> Divergence? {
    if headHasObsFold(data, from: start) { return .obsFold }
    if hasBareLF(data, from: start) && [.badRequestLine, .badHeader, .badChunk, .badVersion].contains(error.kind) {
        return .bareLF
    }
    if error.kind == .badChunk && hasObsFoldAnywhere(data, from: start) { return .obsFold }  // in the trailers
    if (error.kind == .badHeader || error.kind == .badChunk) && hasLineStartingWithColon(data, from: start) {
        return .emptyFieldName
    }
    switch error.kind {
    case .badHost: return .hostRules
    case .badContentLength where !fieldValues(data, from: start, named: "transfer-encoding").isEmpty
        && !fieldValues(data, from: start, named: "content-length").isEmpty:
        return .transferEncodingWithContentLength
    case .badChunk where hasChunkExtensions(data, from: start): return .chunkExtension
    case .badChunk where hasHugeChunkSize(data, from: start): return .hugeContentLength
    case .badContentLength where fieldValues(data, from: start, named: "content-length").contains(where: { value in
        value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).contains { element in
            element.allSatisfy { $0 == 32 || $0 == 9 } } }):
        return .contentLengthSyntax
    case .badContentLength where fieldValues(data, from: start, named: "content-length").contains(where: { value in
        value.filter { $0 >= 0x30 && $0 <= 0x39 }.count > 18 }):
        return .hugeContentLength
    case .badHTTP09Method: return .http09
    case .versionNotSupported, .badVersion: return .version
    case .unsupportedTransferCoding: return .transferCoding
    case .badRequestLine where requestLine(data, from: start).target.contains(UInt8(ascii: "#")): return .fragment
    case .badRequestLine where isTargetFormRejection(data, from: start): return .targetForm
    case .badRequestLine where requestLineHasOddWhitespace(data, from: start): return .requestLineWhitespace
    case .badTransferEncoding where requestLine(data, from: start).version.elementsEqual("HTTP/1.0".utf8):
        return .transferEncodingInHTTP10
    case .badTransferEncoding: return .transferCoding
    default: return nil
    }
}

/// Whether llhttp's error is one of the divergences, given that we accepted the request `ours`
/// (nil: we wait for more).
func explainTheirRejection(_ theirs: dfz_result, _ ours: OurFraming.Message?, _ data: UnsafeRawBufferPointer,
                           from start: Int) -> Divergence? {
    if theirs.error == 6 { return .methodNotInLLHTTPList }  // HPE_INVALID_METHOD
    // HPE_INVALID_CONSTANT for a method llhttp knows only from RTSP (REDIRECT, ANNOUNCE, ...).
    if theirs.error == 8, let reason = theirs.reason, String(cString: reason).contains("Invalid method") {
        return .methodNotInLLHTTPList
    }
    if theirs.error == 9, let reason = theirs.reason, String(cString: reason).contains("Preface") {
        return .methodNotInLLHTTPList
    }
    if theirs.error == 7, let first = requestLine(data, from: start).target.first,
       first != UInt8(ascii: "/") && first != UInt8(ascii: "*") {
        return .absoluteFormURL  // HPE_INVALID_URL
    }
    if let reason = theirs.reason, String(cString: reason).contains("chunk extension") { return .chunkExtension }
    // BWS between the chunk size and a `;`, or an extension llhttp reads as part of the size.
    if theirs.error == 12, theirs.error_pos < data.count {
        if data[theirs.error_pos] == 32 || data[theirs.error_pos] == 9 { return .chunkExtension }
        var lineStart = theirs.error_pos
        while lineStart > 0 && data[lineStart - 1] != 10 { lineStart -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: data[lineStart...theirs.error_pos])
        if hasChunkExtensions(line, from: 0) { return .chunkExtension }
    }
    if theirs.error == 11,  // HPE_INVALID_CONTENT_LENGTH
       fieldValues(data, from: start, named: "content-length").contains(where: { value in
           value.drop(while: { $0 == 32 || $0 == 9 }).contains(where: { $0 == 32 || $0 == 9 })
       }) {
        return .transferEncodingWhitespace
    }
    if theirs.error == 15,  // HPE_INVALID_TRANSFER_ENCODING
       fieldValues(data, from: start, named: "transfer-encoding").contains(where: { value in
           value.contains(9) || value.last == 32 || value.contains(where: { $0 == 32 }) && value.contains(UInt8(ascii: ","))
       }) {
        return .transferEncodingWhitespace
    }
    if let ours, ours.version == .http09 { return .http09 }
    if [4, 11].contains(theirs.error) && hasRepeatedIdenticalContentLength(data, from: start) {
        return .repeatedContentLength
    }
    if let ours, ours.hasFramingTrailer, [4, 11, 15].contains(theirs.error) { return .framingFieldInTrailers }
    if let ours, ours.version.major == 0 || ours.version.minor >= 2 { return .version }  // HTTP/0.x, 1.2+
    if ours == nil && [4, 11, 15].contains(theirs.error) {
        // We wait for more: would the message, its trailer section ended, have a framing trailer?
        let probe = Array(data) + Array("\r\n\r\n".utf8)
        let ended = probe.withUnsafeBytes { OurFraming($0) }
        if ended.messages.contains(where: { $0.hasFramingTrailer && $0.end > start }) { return .framingFieldInTrailers }
    }
    if ours == nil {
        // We wait for more; llhttp has already refused the request line.
        let line = requestLine(data, from: start)
        if line.version.isEmpty && line.method.elementsEqual("GET".utf8) { return .http09 }
        let v = Array(line.version)
        if v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), v[6] == UInt8(ascii: "."),
           (v[5] == UInt8(ascii: "0") || (v[5] == UInt8(ascii: "1") && v[7] >= UInt8(ascii: "2"))) {
            return .version
        }
    }
    return nil
}
