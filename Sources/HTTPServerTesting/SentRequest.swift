import HTTPServerHTTP1

/// A request a ``TestClient`` sent, as the server's own parser (`HTTPServerHTTP1.RequestParser`, with the
/// server's limits) reads it.
///
/// The client parses what it sends so that it knows exactly which response answers which request:
/// a response to `HEAD` has no body, one to HTTP/0.9 has no status line, and after a request the
/// server refuses no more responses come.
public struct SentRequest: Sendable, Equatable, CustomStringConvertible {
    /// The method token, e.g. `"GET"`. For a request refused before its request line was read,
    /// the first word of its first line (as the server reports it, Python's `command`).
    public var method: String
    /// The request-target, e.g. `"/hello?x=1"` (empty when the request line was not understood).
    public var target: String
    /// The protocol version; nil when the request line was not understood.
    public var version: HTTPVersion?
    /// The request asks to keep the connection open (RFC 9112 §9.3), as the server decides it for
    /// the request side.
    public var isKeepAlive: Bool
    /// The request carries `Expect: 100-continue`.
    public var expectsContinue: Bool
    /// The whole message, body included, has been sent.
    public var isComplete: Bool
    /// Why the server's parser refuses the request; nil for a well-formed request.
    public var error: ParseError?

    /// The request line, and whether the request is incomplete or refused.
    public var description: String {
        let line = "\(method) \(target) \(version.map { "\($0)" } ?? "?")"
        if let error { return "\(line) (refused: \(error))" }
        return isComplete ? line : line + " (incomplete)"
    }
}

/// Reads the bytes a client sends with the server's parser, to know what the responses answer.
struct RequestTracker {
    private var parser: RequestParser
    private var pending: [UInt8] = []
    private(set) var requests: [SentRequest] = []
    /// The current message has begun but its head is not complete.
    private var isInHead = false

    init(limits: ParserLimits) {
        var limits = limits
        limits.maxBodySize = nil  // as the connection does: the body limit is applied after the head
        parser = RequestParser(limits: limits)
    }

    /// The parser refused a request: the server answers it and closes, and reads nothing more.
    var hasFailed: Bool { requests.last?.error != nil }

    /// Requests whose whole message was sent (refused ones included): each gets a final response.
    var completeCount: Int { requests.count(where: { $0.isComplete }) }

    /// A request whose head was sent but not yet all of its body.
    var isSendingBody: Bool { requests.last.map { !$0.isComplete } ?? false }

    /// Part of a request head was sent.
    var isSendingHead: Bool { isInHead }

    mutating func sent(_ bytes: [UInt8]) {
        guard !hasFailed, !bytes.isEmpty else { return }
        pending += bytes
        var offset = 0
        defer { pending.removeFirst(min(offset, pending.count)) }
        while true {
            let result = pending.withUnsafeBytes { raw in
                Result { () throws(ParseError) in try parser.parse(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            let step: ParseStep
            switch result {
            case .success(let parsed):
                step = parsed
            case .failure(let error):
                refused(error, rest: Array(pending[offset...]))
                offset = pending.count
                return
            }
            switch step {
            case .needMore(let consumed):
                offset += consumed
                isInHead = parser.isMidMessage && !isSendingBody
                return
            case .head(let consumed):
                pending.withUnsafeBytes { raw in
                    headParsed(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }
                isInHead = false
                offset += consumed
            case .body(let range):
                offset += range.upperBound
            case .end(let consumed):
                offset += consumed
                if let last = requests.indices.last { requests[last].isComplete = true }
                parser.reset()
                if offset == pending.count {
                    isInHead = false
                    return
                }
            }
        }
    }

    private mutating func headParsed(_ buffer: UnsafeRawBufferPointer) {
        let head = parser.head
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self)
        }
        requests.append(SentRequest(method: text(head.method), target: text(head.target), version: head.version,
                                    isKeepAlive: head.isKeepAlive, expectsContinue: head.expectsContinue,
                                    isComplete: false, error: nil))
    }

    /// The server refuses the message at `rest`. Like the server (Python's `command`), the method it
    /// reports is the first word of the first line, when the request line was read at all.
    private mutating func refused(_ error: ParseError, rest: [UInt8]) {
        isInHead = false
        var words = firstLine(of: rest).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\u{0B}" || $0 == "\u{0C}" })
        if error.kind == .badRequestLine || error.kind == .requestLineTooLong { words = [] }
        let method = words.first.map(String.init) ?? ""
        if let last = requests.indices.last, !requests[last].isComplete {
            // Refused in its (chunked) body.
            requests[last].error = error
            requests[last].isComplete = true
            return
        }
        requests.append(SentRequest(method: method, target: "", version: nil, isKeepAlive: false,
                                    expectsContinue: false, isComplete: true, error: error))
    }

    private func firstLine(of bytes: [UInt8]) -> String {
        var start = 0
        while start < bytes.count && (bytes[start] == 13 || bytes[start] == 10) { start += 1 }
        var end = start
        while end < bytes.count && bytes[end] != 10 { end += 1 }
        var stop = end
        while stop > start && bytes[stop - 1] == 13 { stop -= 1 }
        var scalars = String.UnicodeScalarView()
        for byte in bytes[start..<stop] { scalars.append(Unicode.Scalar(byte)) }
        return String(scalars)
    }
}
