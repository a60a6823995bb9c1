import HTTPServerKit

/// Reads HTTP/1.x responses out of the bytes a server wrote, as a client does (RFC 9112 §6.3).
///
/// A response's body is framed by, in order: the request (no body for `HEAD`, none for a 2xx answer
/// to `CONNECT`), the status (none for 1xx, 204 and 304), `Transfer-Encoding` ending in `chunked`,
/// `Content-Length`, and otherwise the end of the connection. Interim (1xx) responses are attached
/// to the final response that follows them. Lines must end in CRLF: a server under test gets no
/// leniency.
///
/// ``TestClient`` calls it for you; call it yourself for bytes from elsewhere.
public enum ResponseReader {
    /// Bytes that are not an HTTP/1.x response.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// What was wrong, and where.
        case malformed(String)

        /// What was wrong, for failure messages.
        public var description: String {
            switch self {
            case .malformed(let why): "malformed response: \(why)"
            }
        }
    }

    /// How the body of a response is framed, decided by the request it answers.
    enum Expectation: Equatable {
        /// By the response's own headers and status.
        case framed
        /// No body whatever the headers say (a response to `HEAD`, or 2xx to `CONNECT`).
        case noBody
        /// A response to a `HEAD` request the server refused or did not receive whole: its error page
        /// may carry a body or not, and the server closes after it; decided at the end of input.
        case headRefused
        /// A response to an HTTP/0.9 request: no status line, the body runs to the end of input.
        case http09
        /// A response to `CONNECT`: a 2xx has no body (the connection would become a tunnel).
        case connect
    }

    /// What a parse found: final responses, the interim responses after the last of them, and how
    /// many bytes the final responses used (interim responses are read again with their final one).
    struct Outcome {
        var responses: [TestResponse] = []
        var pendingInterim: [TestResponse] = []
        var consumed = 0
        /// Set when bytes after the responses are not a response.
        var failure: Failure?
    }

    /// Parses the complete responses in `bytes`. `isHEAD(i)` tells whether the i-th (final)
    /// response answers a `HEAD` request, so has no body. With `atEOF`, the server has closed: a
    /// response without framing takes the rest. Returns the responses and the number of bytes they
    /// used.
    public static func parse(_ bytes: [UInt8], atEOF: Bool, isHEAD: (Int) -> Bool = { _ in false })
        throws(Failure) -> (responses: [TestResponse], consumed: Int) {
        let outcome = read(bytes, atEOF: atEOF) { isHEAD($0) ? .noBody : .framed }
        if let failure = outcome.failure { throw failure }
        return (outcome.responses, outcome.consumed)
    }

    /// Parses the complete responses in `bytes`, answering `requests` in order (the i-th final
    /// response answers `requests[i]`). With `atEOF`, the server has closed.
    public static func parse(_ bytes: [UInt8], atEOF: Bool, answering requests: [SentRequest])
        throws(Failure) -> (responses: [TestResponse], consumed: Int) {
        let outcome = read(bytes, atEOF: atEOF) { expectation(for: $0 < requests.count ? requests[$0] : nil) }
        if let failure = outcome.failure { throw failure }
        return (outcome.responses, outcome.consumed)
    }

    static func expectation(for request: SentRequest?) -> Expectation {
        guard let request else { return .framed }
        if request.version == .http09 && request.error == nil { return .http09 }
        if request.method == "HEAD" {
            return request.isComplete && request.error == nil ? .noBody : .headRefused
        }
        if request.method == "CONNECT" && request.error == nil { return .connect }
        return .framed
    }

    /// Reads what it can; a response cut short by the end of input is left unread (not an error).
    static func read(_ bytes: [UInt8], atEOF: Bool, from start: Int = 0,
                     expectation: (Int) -> Expectation) -> Outcome {
        var outcome = Outcome()
        do {
            try read(bytes, atEOF: atEOF, from: start, expectation: expectation, into: &outcome)
        } catch {
            outcome.failure = error
        }
        return outcome
    }

    private static func read(_ bytes: [UInt8], atEOF: Bool, from start: Int, expectation: (Int) -> Expectation,
                             into outcome: inout Outcome) throws(Failure) {
        var offset = start
        outcome.consumed = start
        while offset < bytes.count {
            let index = outcome.responses.count
            let expected = expectation(index)
            if expected == .http09 {
                guard atEOF else { break }
                let body = Array(bytes[offset...])
                outcome.responses.append(TestResponse(version: "HTTP/0.9", status: 0, reason: "", body: body,
                                                      interim: outcome.pendingInterim, raw: body))
                outcome.pendingInterim = []
                offset = bytes.count
                outcome.consumed = offset
                break
            }
            guard let headEnd = find(bytes, [13, 10, 13, 10], from: offset) else { break }
            var response = try parseHead(bytes[offset..<headEnd])
            var cursor = headEnd + 4
            if response.isInterim {
                response.raw = Array(bytes[offset..<cursor])
                outcome.pendingInterim.append(response)
                offset = cursor
                continue
            }
            guard let end = try readBody(bytes, from: cursor, into: &response, expected: expected,
                                         atEOF: atEOF) else { break }
            cursor = end
            response.raw = Array(bytes[offset..<cursor])
            response.interim = outcome.pendingInterim
            outcome.pendingInterim = []
            outcome.responses.append(response)
            offset = cursor
            outcome.consumed = offset
        }
    }

    /// Reads the body of `response` starting at `start`; returns where the response ends, or nil
    /// when more bytes are needed.
    private static func readBody(_ bytes: [UInt8], from start: Int, into response: inout TestResponse,
                                 expected: Expectation, atEOF: Bool) throws(Failure) -> Int? {
        let status = response.status
        switch expected {
        case .noBody:
            return start
        case .headRefused:
            // The server closes after this response: whatever follows its head is its body.
            guard atEOF else { return nil }
            if start == bytes.count { return start }
        case .connect where (200..<300).contains(status):
            return start
        case .framed, .http09, .connect:
            if status == 204 || status == 304 { return start }
        }
        let codings = response.headers.values(for: "Transfer-Encoding")
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace().lowercased() }
        if let last = codings.last, last == "chunked" {
            guard let (body, trailers, end) = try dechunk(bytes, from: start) else { return nil }
            response.body = body
            response.trailers = trailers
            return end
        }
        if codings.isEmpty, let lengthText = response.headers["Content-Length"] {
            let values = response.headers.values(for: "Content-Length")
            guard let length = Int(lengthText), length >= 0, values.allSatisfy({ $0 == lengthText }) else {
                throw .malformed("Content-Length \(values)")
            }
            guard bytes.count - start >= length else { return nil }
            response.body = Array(bytes[start..<(start + length)])
            return start + length
        }
        // Framed by the end of the connection.
        guard atEOF else { return nil }
        response.body = Array(bytes[start...])
        return bytes.count
    }

    /// The status line and header fields.
    private static func parseHead(_ head: ArraySlice<UInt8>) throws(Failure) -> TestResponse {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            if head[i] == 10 {
                guard i > lineStart, head[i - 1] == 13 else { throw .malformed("bare LF in \(preview(head))") }
                lines.append(head[lineStart..<(i - 1)])
                lineStart = i + 1
            } else if head[i] == 13 && (i + 1 == head.endIndex || head[i + 1] != 10) {
                throw .malformed("bare CR in \(preview(head))")
            }
            i += 1
        }
        lines.append(head[lineStart...])
        let statusLine = lines.removeFirst()
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        let text = String(decoding: statusLine, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[0].count == 8,
              parts[1].count == 3, parts[1].allSatisfy(\.isASCII), let status = Int(parts[1]), status >= 100 else {
            throw .malformed("status line \(text.debugDescription)")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("header line \(String(decoding: line, as: UTF8.self).debugDescription)")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            guard !name.contains(" "), !name.contains("\t") else { throw .malformed("header name \(name.debugDescription)") }
            headers.add(name, String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingWhitespace())
        }
        return TestResponse(version: String(parts[0]), status: status, reason: parts.count > 2 ? String(parts[2]) : "",
                            headers: headers)
    }

    /// A chunked body (RFC 9112 §7.1): the data, the trailer fields, and where it ends; nil when
    /// more bytes are needed.
    private static func dechunk(_ bytes: [UInt8], from start: Int) throws(Failure) -> ([UInt8], HTTPHeaders, Int)? {
        var body: [UInt8] = []
        var cursor = start
        while true {
            guard let lineEnd = find(bytes, [13, 10], from: cursor) else { return nil }
            let line = String(decoding: bytes[cursor..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace() } ?? ""
            guard !sizeText.isEmpty, sizeText.allSatisfy(\.isHexDigit), let size = Int(sizeText, radix: 16) else {
                throw .malformed("chunk size line \(line.debugDescription)")
            }
            cursor = lineEnd + 2
            if size == 0 {
                var trailers = HTTPHeaders()
                while true {
                    guard let end = find(bytes, [13, 10], from: cursor) else { return nil }
                    if end == cursor { return (body, trailers, end + 2) }
                    let field = bytes[cursor..<end]
                    guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else {
                        throw .malformed("trailer line \(String(decoding: field, as: UTF8.self).debugDescription)")
                    }
                    trailers.add(String(decoding: field[..<colon], as: UTF8.self),
                                 String(decoding: field[(colon + 1)...], as: UTF8.self).trimmingWhitespace())
                    cursor = end + 2
                }
            }
            guard bytes.count >= cursor + size + 2 else { return nil }
            guard bytes[cursor + size] == 13, bytes[cursor + size + 1] == 10 else {
                throw .malformed("chunk of \(size) bytes not followed by CRLF")
            }
            body += bytes[cursor..<(cursor + size)]
            cursor += size + 2
        }
    }

    /// The first index of `needle` in `bytes` at or after `start`.
    static func find(_ bytes: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var i = start
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < needle.count && bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    private static func preview<C: Collection<UInt8>>(_ bytes: C) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return text.debugDescription + (bytes.count > 200 ? "…" : "")
    }
}
