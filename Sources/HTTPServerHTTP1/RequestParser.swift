/// The incremental RFC 9112 request parser. Resumable at every byte; allocation-free in steady state.
///
/// The caller owns the bytes. Each `parse` call says how many bytes it consumed;
/// the caller drops them and presents the rest, with more appended, on the next
/// call. The parser remembers how far it scanned, so no byte is examined twice.
/// In the head phase nothing is consumed until the head is complete, so the
/// head's ranges are all into the buffer of the call that returns `.head`.
/// (Complete leading empty lines, before any request byte, are consumed as they
/// come, so a peer sending only CRLFs cannot make the connection hold them.)
///
/// Where RFC 9112 leaves a choice, the parser takes the strict one:
/// - A bare LF or a bare CR ends nothing: 400 (§2.2 allows LF; rejecting cannot desynchronise).
/// - obs-fold and whitespace before the colon or before the first field: 400 (§5.1, §5.2).
/// - NUL and other control bytes (except HTAB) in values: 400, never replaced by SP (RFC 9110 §5.5).
/// - Transfer-Encoding in an HTTP/1.0 request: 400 (§6.1); with Content-Length: 400 (§6.3).
/// - The request-target's form must fit the method: `*` only for OPTIONS, authority-form
///   only (and always) for CONNECT, absolute-form only as `scheme://...` (§3.2).
/// - CONNECT gets no body whatever its fields say; the bytes after its head belong to the tunnel.
/// - Host (§3.2): an HTTP/1.1 request without one, any request with two, or one that is not
///   `uri-host [ ":" port ]`: 400. An absolute-form target's authority is the request's, not Host's.
/// Python compatibility: `GET /path` (two words) is HTTP/0.9; HTTP/1.x for x ≥ 2 is accepted.
/// Python accepts a request without Host; `ParserLimits.requireHost = false` does too.
public struct RequestParser: Sendable {
    /// Where in the grammar the next byte falls.
    enum State: Sendable {
        /// Before the method: a CR here starts an ignored empty line (RFC 9112 §2.2).
        case requestLineStart
        /// The LF of an ignored leading empty line.
        case leadingEmptyLineLF
        case method
        /// The first byte of the request-target.
        case targetStart
        case target
        case version
        /// The LF ending a three-word request line.
        case requestLineLF
        /// The LF ending a two-word (HTTP/0.9) request line.
        case http09RequestLineLF
        /// The header section; `fields` has the finer position.
        case fieldLines
        /// Content-Length body with this many bytes to go (0: the next call ends the message).
        case contentBody(remaining: Int)
        /// The first byte of a chunk-size line.
        case chunkSizeStart
        case chunkSizeDigits
        /// BWS after the size or an extension value: only a `;` may follow (RFC 9112 §7.1.1).
        case chunkExtensionWhitespace
        /// BWS after `;`, before an extension name.
        case chunkExtensionNameStart
        case chunkExtensionName
        /// BWS after an extension name, before `=` or `;`.
        case chunkExtensionAfterName
        /// BWS after `=`, before the value.
        case chunkExtensionValueStart
        case chunkExtensionToken
        case chunkExtensionQuoted
        case chunkExtensionQuotedPair
        /// Just after a quoted extension value: `;`, BWS or the CR.
        case chunkExtensionValueEnd
        /// The LF ending a chunk-size line.
        case chunkSizeLineLF
        case chunkData(remaining: Int)
        /// The CRLF after chunk data.
        case chunkDataCR
        case chunkDataLF
        /// The trailer section after the last chunk; `fields` has the finer position.
        case trailerSection
        /// `.end` was returned; `reset()` before the next request.
        case messageComplete
    }

    /// The limits this parser enforces.
    public var limits: ParserLimits
    /// The current request's head: filled in when `parse` returns `.head`, cleared by `reset()`.
    public internal(set) var head = RequestHead()
    /// Trailer fields of a chunked body, valid after `.end`.
    public internal(set) var trailers: [HeaderField] = []

    var state: State = .requestLineStart
    /// How far this message has been scanned, as an offset into the current buffer.
    var scanned = 0
    var fields = FieldLineScanner()
    // Request line positions (offsets into the head buffer).
    var requestLineStart = 0
    var methodEnd = 0
    var targetStart = 0
    var targetEnd = 0
    var versionStart = 0
    // Framing facts gathered from the header fields.
    var contentLength: Int? = nil
    var hasTransferEncoding = false
    /// The last non-empty Transfer-Encoding element was `chunked`.
    var isChunkedLast = false
    var chunkedCount = 0
    var hasOtherCoding = false
    var isTransferEncodingMalformed = false
    var hostCount = 0
    // Chunked body.
    var chunkSize = 0
    var bodyTotal = 0
    /// Leading empty lines already consumed (dropped by the caller): they still count towards
    /// `maxHeadSize`, so that the limit does not depend on how the bytes arrived.
    var droppedEmptyLineBytes = 0

    /// A parser waiting for the first request line.
    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
    }

    /// Ready for the next request on the connection (keeps capacity).
    public mutating func reset() {
        head.clear()
        if !trailers.isEmpty { trailers.removeAll(keepingCapacity: true) }
        state = .requestLineStart
        scanned = 0
        fields = FieldLineScanner()
        requestLineStart = 0
        methodEnd = 0
        targetStart = 0
        targetEnd = 0
        versionStart = 0
        contentLength = nil
        hasTransferEncoding = false
        isChunkedLast = false
        chunkedCount = 0
        hasOtherCoding = false
        isTransferEncodingMalformed = false
        hostCount = 0
        chunkSize = 0
        bodyTotal = 0
        droppedEmptyLineBytes = 0
    }

    /// True once part of a request has been seen (not just leading empty lines): EOF now is an error.
    public var isMidMessage: Bool {
        switch state {
        case .requestLineStart, .leadingEmptyLineLF, .messageComplete:
            return false
        case .method, .targetStart, .target, .version, .requestLineLF, .http09RequestLineLF, .fieldLines,
             .contentBody, .chunkSizeStart, .chunkSizeDigits, .chunkExtensionWhitespace,
             .chunkExtensionNameStart, .chunkExtensionName, .chunkExtensionAfterName,
             .chunkExtensionValueStart, .chunkExtensionToken, .chunkExtensionQuoted,
             .chunkExtensionQuotedPair, .chunkExtensionValueEnd, .chunkSizeLineLF, .chunkData, .chunkDataCR, .chunkDataLF,
             .trailerSection:
            return true
        }
    }

    /// Parses what it can of `bytes` (see `ParseStep`). After an error the parser must be `reset()`.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> ParseStep {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            switch state {
            case .contentBody(remaining: 0):
                state = .messageComplete
                return .end(consumed: 0)
            case .messageComplete:
                return .end(consumed: 0)
            default:
                return .needMore(consumed: 0)
            }
        }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        switch state {
        case .requestLineStart, .leadingEmptyLineLF, .method, .targetStart, .target, .version,
             .requestLineLF, .http09RequestLineLF, .fieldLines:
            return try parseHead(p, n)
        case .contentBody(let remaining):
            if remaining == 0 {
                state = .messageComplete
                return .end(consumed: 0)
            }
            let take = min(n, remaining)
            state = .contentBody(remaining: remaining - take)
            return .body(0..<take)
        case .chunkSizeStart, .chunkSizeDigits, .chunkExtensionWhitespace, .chunkExtensionNameStart,
             .chunkExtensionName, .chunkExtensionAfterName, .chunkExtensionValueStart, .chunkExtensionToken,
             .chunkExtensionQuoted, .chunkExtensionQuotedPair, .chunkExtensionValueEnd, .chunkSizeLineLF, .chunkData, .chunkDataCR,
             .chunkDataLF, .trailerSection:
            return try parseChunked(p, n)
        case .messageComplete:
            return .end(consumed: 0)
        }
    }

    // MARK: - Head

    private mutating func parseHead(_ p: UnsafePointer<UInt8>, _ n: Int) throws(ParseError) -> ParseStep {
        let table = ByteClass.table
        // The whole head, leading empty lines included, must fit in maxHeadSize.
        let end = min(n, max(0, limits.maxHeadSize &- droppedEmptyLineBytes))
        var i = scanned
        let requestLineLimit = requestLineStart &+ limits.maxRequestLineLength
        scanning: while i < end {
            switch state {
            case .requestLineStart:
                let b = p[i]
                if b == .cr {
                    state = .leadingEmptyLineLF
                    i &+= 1
                } else if table[Int(b)] & ByteClass.token != 0 {
                    requestLineStart = i
                    state = .method
                    // The line limits are relative to requestLineStart: restart with it set.
                    scanned = i
                    return try parseHead(p, n)
                } else {
                    throw .badRequestLine  // bare LF, control bytes, TLS handshakes, ...
                }
            case .leadingEmptyLineLF:
                guard p[i] == .lf else { throw .badRequestLine }
                state = .requestLineStart
                i &+= 1
            case .method:
                let methodLimit = requestLineStart &+ limits.maxMethodLength
                let stop = min(end, methodLimit, requestLineLimit)
                while i < stop && table[Int(p[i])] & ByteClass.token != 0 { i &+= 1 }
                if i == end { break scanning }
                let b = p[i]
                if table[Int(b)] & ByteClass.token != 0 {
                    throw i >= requestLineLimit ? .requestLineTooLong : .methodTooLong
                }
                guard b == .sp else { throw .badRequestLine }
                if i >= requestLineLimit { throw .requestLineTooLong }
                methodEnd = i
                state = .targetStart
                i &+= 1
            case .targetStart:
                let b = p[i]
                if i >= requestLineLimit { throw .requestLineTooLong }
                guard table[Int(b)] & ByteClass.target != 0 else { throw .badRequestLine }
                targetStart = i
                state = .target
                i &+= 1
            case .target:
                i = ByteClass.skip(p, from: i, to: min(end, requestLineLimit), lowestValid: 0x21,
                                   allowsHighBytes: false, byteClass: ByteClass.target, table: table)
                if i == end { break scanning }
                let b = p[i]
                if i >= requestLineLimit && b != .cr { throw .requestLineTooLong }
                if b == .sp {
                    targetEnd = i
                    versionStart = i &+ 1
                    state = .version
                } else if b == .cr {
                    // `GET /path` CRLF: HTTP/0.9 as in Python.
                    targetEnd = i
                    state = .http09RequestLineLF
                } else {
                    throw .badRequestLine  // CTL, DEL, a byte ≥ 0x80 or bare LF inside the target
                }
                i &+= 1
            case .version:
                let stop = min(end, requestLineLimit)
                while i < stop && table[Int(p[i])] & ByteClass.target != 0 { i &+= 1 }
                if i == end { break scanning }
                let b = p[i]
                if i >= requestLineLimit && b != .cr { throw .requestLineTooLong }
                guard b == .cr else { throw .badRequestLine }  // a fourth word, trailing SP, CTL
                state = .requestLineLF
                i &+= 1
            case .requestLineLF:
                guard p[i] == .lf else { throw .badRequestLine }
                try requestLineComplete(p, crAt: i &- 1)
                i &+= 1
                fields.reset(at: i)
                state = .fieldLines
            case .http09RequestLineLF:
                guard p[i] == .lf else { throw .badRequestLine }
                let crAt = i &- 1
                head.method = requestLineStart..<methodEnd
                head.target = targetStart..<targetEnd
                head.requestLine = requestLineStart..<crAt
                head.versionToken = crAt..<crAt
                head.version = .http09
                // Python: a two-word request line is HTTP/0.9 and only GET exists there.
                guard equals(p, head.method, "GET") else { throw .badHTTP09Method }
                try checkTargetForm(p)
                i &+= 1
                // RFC 1945: an HTTP/0.9 request has no header section and no body.
                state = .contentBody(remaining: 0)
                scanned = 0
                return .head(consumed: i)
            case .fieldLines:
                while true {
                    switch try fields.scan(p, end: end, i: &i, maxLineLength: limits.maxHeaderLineLength, table: table) {
                    case .needMore:
                        break scanning
                    case .field(let field):
                        guard head.headers.count < limits.maxHeaderCount else { throw .tooManyHeaders }
                        head.headers.append(field)
                        try recognise(p, field)
                    case .sectionEnd:
                        try headComplete(p)
                        scanned = 0
                        return .head(consumed: i)
                    }
                }
            case .contentBody, .chunkSizeStart, .chunkSizeDigits, .chunkExtensionWhitespace,
                 .chunkExtensionNameStart, .chunkExtensionName, .chunkExtensionAfterName,
                 .chunkExtensionValueStart, .chunkExtensionToken, .chunkExtensionQuoted,
                 .chunkExtensionQuotedPair, .chunkExtensionValueEnd, .chunkSizeLineLF, .chunkData, .chunkDataCR, .chunkDataLF,
                 .trailerSection, .messageComplete:
                preconditionFailure("parseHead in a body state")
            }
        }
        if end < n { throw .headTooLarge }
        scanned = i
        switch state {
        case .requestLineStart:
            // Only complete empty lines so far: drop them, so a peer sending nothing
            // but CRLFs cannot make the connection hold them.
            scanned = 0
            droppedEmptyLineBytes &+= i
            return .needMore(consumed: i)
        case .leadingEmptyLineLF:
            scanned = 1
            droppedEmptyLineBytes &+= i &- 1
            return .needMore(consumed: i &- 1)
        default:
            return .needMore(consumed: 0)
        }
    }

    /// Validates the version token and the request-target's form once the line is whole.
    private mutating func requestLineComplete(_ p: UnsafePointer<UInt8>, crAt: Int) throws(ParseError) {
        head.method = requestLineStart..<methodEnd
        head.target = targetStart..<targetEnd
        head.versionToken = versionStart..<crAt
        head.requestLine = requestLineStart..<crAt
        // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
        let v = versionStart
        guard crAt - v == 8,
              p[v] == UInt8(ascii: "H"), p[v + 1] == UInt8(ascii: "T"), p[v + 2] == UInt8(ascii: "T"),
              p[v + 3] == UInt8(ascii: "P"), p[v + 4] == .slash, p[v + 6] == UInt8(ascii: "."),
              let major = digit(p[v + 5]), let minor = digit(p[v + 7])
        else { throw .badVersion }
        // Python: 505 for 2.0 and above; HTTP/1.x with x ≥ 2 is served as 1.1 would be.
        if major >= 2 { throw .versionNotSupported }
        head.version = HTTPVersion(major: major, minor: minor)
        head.isConnect = equals(p, head.method, "CONNECT")
        try checkTargetForm(p)
    }

    // MARK: - Small helpers

    @inline(__always)
    private func digit(_ b: UInt8) -> Int? {
        b >= 0x30 && b <= 0x39 ? Int(b &- 0x30) : nil
    }
}
