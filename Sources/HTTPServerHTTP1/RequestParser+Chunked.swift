// The chunked transfer coding (RFC 9112 §7.1):
//
//   chunked-body   = *chunk last-chunk trailer-section CRLF
//   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size     = 1*HEXDIG
//   last-chunk     = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val  = token / quoted-string
//
// A chunk-size line is consumed only once complete, and the trailer section
// only once complete (its field ranges are into the buffer of the `.end` call).
// At every call start the first unconsumed byte is the start of the line (or
// trailer section) in progress, and `scanned` says how far into it we got.

extension RequestParser {
    mutating func parseChunked(_ p: UnsafePointer<UInt8>, _ n: Int) throws(ParseError) -> ParseStep {
        let table = ByteClass.table
        let hex = ByteClass.hexValue
        var i = scanned
        // Start of the line or trailer section in progress: everything before it is done with.
        var lineStart = 0
        scanning: while i < n {
            switch state {
            case .chunkSizeStart:
                // No leading whitespace, sign or `0x` (RFC 9112 §7.1).
                let v = hex[Int(p[i])]
                guard v != 0xFF else { throw .badChunk }
                chunkSize = Int(v)
                state = .chunkSizeDigits
                i &+= 1
            case .chunkSizeDigits:
                while i < n {
                    let v = hex[Int(p[i])]
                    if v == 0xFF { break }
                    guard chunkSize <= Int.max >> 4 else { throw .badChunk }  // overflow
                    chunkSize = chunkSize << 4 | Int(v)
                    i &+= 1
                }
                if i &- lineStart > limits.maxChunkLineLength { throw .badChunk }
                if i == n { break scanning }
                switch p[i] {
                case .cr: state = .chunkSizeLineLF
                case .semicolon: state = .chunkExtensionNameStart
                case .sp, .htab: state = .chunkExtensionWhitespace
                default: throw .badChunk  // `1_0`, `0x5`, bare LF, ...
                }
                i &+= 1
            case .chunkExtensionWhitespace, .chunkExtensionNameStart, .chunkExtensionName,
                 .chunkExtensionAfterName, .chunkExtensionValueStart, .chunkExtensionToken,
                 .chunkExtensionQuoted, .chunkExtensionQuotedPair, .chunkExtensionValueEnd:
                let b = p[i]
                if i &- lineStart >= limits.maxChunkLineLength && b != .cr { throw .badChunk }
                state = try chunkExtensionStep(b, table)
                i &+= 1
            case .chunkSizeLineLF:
                guard p[i] == .lf else { throw .badChunk }
                i &+= 1
                lineStart = i
                if chunkSize == 0 {
                    state = .trailerSection
                    fields.reset(at: i)
                } else {
                    let (total, overflow) = bodyTotal.addingReportingOverflow(chunkSize)
                    if overflow { throw .bodyTooLarge }
                    if let maxBody = limits.maxBodySize, total > maxBody { throw .bodyTooLarge }
                    bodyTotal = total
                    state = .chunkData(remaining: chunkSize)
                }
            case .chunkData(let remaining):
                let take = min(n &- i, remaining)
                state = take == remaining ? .chunkDataCR : .chunkData(remaining: remaining &- take)
                scanned = 0
                return .body(i..<(i &+ take))
            case .chunkDataCR:
                // Data shorter than its size, followed by anything else, is caught here.
                guard p[i] == .cr else { throw .badChunk }
                state = .chunkDataLF
                i &+= 1
            case .chunkDataLF:
                guard p[i] == .lf else { throw .badChunk }
                i &+= 1
                lineStart = i
                state = .chunkSizeStart
            case .trailerSection:
                let end = min(n, lineStart &+ limits.maxTrailerSize)
                while true {
                    let event: FieldLineScanner.Event
                    do {
                        event = try fields.scan(p, end: end, i: &i, maxLineLength: limits.maxHeaderLineLength, table: table)
                    } catch {
                        throw error.kind == .badHeader ? .badChunk : error
                    }
                    switch event {
                    case .needMore:
                        if end < n { throw .trailersTooLarge }
                        break scanning
                    case .field(let field):
                        guard trailers.count < limits.maxHeaderCount else { throw .tooManyHeaders }
                        trailers.append(field)
                    case .sectionEnd:
                        state = .messageComplete
                        scanned = 0
                        return .end(consumed: i)
                    }
                }
            case .requestLineStart, .leadingEmptyLineLF, .method, .targetStart, .target, .version,
                 .requestLineLF, .http09RequestLineLF, .fieldLines, .contentBody, .messageComplete:
                preconditionFailure("parseChunked outside the chunked body")
            }
        }
        // Out of bytes: consume everything before the line in progress.
        scanned = i &- lineStart
        if lineStart > 0, case .trailerSection = state {
            fields.shift(by: lineStart)
            for k in trailers.indices {
                let f = trailers[k]
                trailers[k] = HeaderField(
                    name: (f.name.lowerBound - lineStart)..<(f.name.upperBound - lineStart),
                    value: (f.value.lowerBound - lineStart)..<(f.value.upperBound - lineStart))
            }
        }
        return .needMore(consumed: lineStart)
    }

    /// One byte of chunk extensions; returns the next state.
    @inline(__always)
    private func chunkExtensionStep(_ b: UInt8, _ table: UnsafePointer<UInt8>) throws(ParseError) -> State {
        let isToken = table[Int(b)] & ByteClass.token != 0
        let isWhitespace = b == .sp || b == .htab
        switch state {
        case .chunkExtensionWhitespace:
            // chunk-ext = *( BWS ";" ... ): whitespace after the size or a value must lead to a
            // `;`. `a \r\n` is no chunk-size line (§7.1), and parsers that disagree on it can be
            // made to disagree on framing.
            if isWhitespace { return .chunkExtensionWhitespace }
            if b == .semicolon { return .chunkExtensionNameStart }
        case .chunkExtensionValueEnd:
            if isWhitespace { return .chunkExtensionWhitespace }
            if b == .semicolon { return .chunkExtensionNameStart }
            if b == .cr { return .chunkSizeLineLF }
        case .chunkExtensionNameStart:
            if isWhitespace { return .chunkExtensionNameStart }
            if isToken { return .chunkExtensionName }
        case .chunkExtensionName:
            if isToken { return .chunkExtensionName }
            if isWhitespace { return .chunkExtensionAfterName }
            if b == .equals { return .chunkExtensionValueStart }
            if b == .semicolon { return .chunkExtensionNameStart }
            if b == .cr { return .chunkSizeLineLF }
        case .chunkExtensionAfterName:
            // BWS is only ever followed by "=" or ";", never by the CR (§7.1.1).
            if isWhitespace { return .chunkExtensionAfterName }
            if b == .equals { return .chunkExtensionValueStart }
            if b == .semicolon { return .chunkExtensionNameStart }
        case .chunkExtensionValueStart:
            if isWhitespace { return .chunkExtensionValueStart }
            if b == .quote { return .chunkExtensionQuoted }
            if isToken { return .chunkExtensionToken }
        case .chunkExtensionToken:
            if isToken { return .chunkExtensionToken }
            if isWhitespace { return .chunkExtensionWhitespace }
            if b == .semicolon { return .chunkExtensionNameStart }
            if b == .cr { return .chunkSizeLineLF }
        case .chunkExtensionQuoted:
            if b == .quote { return .chunkExtensionValueEnd }
            if b == .backslash { return .chunkExtensionQuotedPair }
            if table[Int(b)] & ByteClass.quotedText != 0 { return .chunkExtensionQuoted }
        case .chunkExtensionQuotedPair:
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            if table[Int(b)] & ByteClass.fieldValue != 0 { return .chunkExtensionQuoted }
        case .requestLineStart, .leadingEmptyLineLF, .method, .targetStart, .target, .version,
             .requestLineLF, .http09RequestLineLF, .fieldLines, .contentBody, .chunkSizeStart,
             .chunkSizeDigits, .chunkSizeLineLF, .chunkData, .chunkDataCR, .chunkDataLF,
             .trailerSection, .messageComplete:
            break
        }
        throw .badChunk
    }
}
