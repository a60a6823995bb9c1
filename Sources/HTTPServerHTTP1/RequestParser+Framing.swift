// Recognising the fields that decide framing and connection handling, and deciding
// the framing once the header section is complete (RFC 9112 §6, §9.6; RFC 9110 §7.2, §10.1.1).

extension RequestParser {
    /// Notes the fields that decide framing and connection handling (RFC 9112 §6, §9.6; RFC 9110 §7.2, §10.1.1).
    mutating func recognise(_ p: UnsafePointer<UInt8>, _ field: HeaderField) throws(ParseError) {
        switch field.name.count {
        case 4 where equalsFolded(p, field.name, "host"):
            hostCount += 1
            // RFC 9112 §3.2: more than one Host, or one that is not `uri-host [ ":" port ]`, is a 400.
            if hostCount > 1 { throw .badHost }
            guard Self.isValidAuthority(p, field.value, rule: .hostField) else { throw .badHost }
            // An absolute-form target's authority wins (§3.2.2); Host is the authority otherwise.
            if head.authority == nil { head.authority = field.value }
        case 6 where equalsFolded(p, field.name, "expect"):
            if equalsFolded(p, field.value, "100-continue") { head.expectsContinue = true }
        case 10 where equalsFolded(p, field.name, "connection"):
            let buffer = UnsafeRawBufferPointer(start: p, count: field.value.upperBound)
            forEachListElement(buffer, field.value) { token in
                if equalsFolded(p, token, "close") { head.connectionClose = true }
                if equalsFolded(p, token, "keep-alive") { head.connectionKeepAlive = true }
            }
        case 14 where equalsFolded(p, field.name, "content-length"):
            try recogniseContentLength(p, field.value)
        case 17 where equalsFolded(p, field.name, "transfer-encoding"):
            recogniseTransferEncoding(p, field.value)
        default:
            break
        }
    }

    /// RFC 9112 §6.3 rule 5: a list of identical values is that value; anything else is a 400.
    mutating func recogniseContentLength(_ p: UnsafePointer<UInt8>, _ value: Range<Int>) throws(ParseError) {
        let buffer = UnsafeRawBufferPointer(start: p, count: value.upperBound)
        var sawElement = false
        var isBad = false
        var length = contentLength
        // Unlike other lists, an empty element here is malformed, so walk the commas directly.
        var start = value.lowerBound
        while start <= value.upperBound {
            var stop = start
            while stop < value.upperBound && p[stop] != .comma { stop += 1 }
            var lo = start
            var hi = stop
            while lo < hi && (p[lo] == .sp || p[lo] == .htab) { lo += 1 }
            while hi > lo && (p[hi - 1] == .sp || p[hi - 1] == .htab) { hi -= 1 }
            if let n = asciiDecimalValue(buffer, lo..<hi) {
                if let previous = length, previous != n { isBad = true }
                length = n
                sawElement = true
            } else {
                isBad = true
            }
            start = stop + 1
        }
        guard sawElement, !isBad, let length else { throw .badContentLength }
        contentLength = length
    }

    /// Transfer-Encoding is one list across all its field lines (RFC 9110 §5.3).
    mutating func recogniseTransferEncoding(_ p: UnsafePointer<UInt8>, _ value: Range<Int>) {
        hasTransferEncoding = true
        let buffer = UnsafeRawBufferPointer(start: p, count: value.upperBound)
        let table = ByteClass.table
        forEachListElement(buffer, value) { element in
            // transfer-coding = token *( OWS ";" OWS transfer-parameter )
            var i = element.lowerBound
            while i < element.upperBound && table[Int(p[i])] & ByteClass.token != 0 { i += 1 }
            let name = element.lowerBound..<i
            let hasParameters = i < element.upperBound
            if name.isEmpty {
                isTransferEncodingMalformed = true
                return
            }
            if hasParameters {
                var j = i
                while j < element.upperBound && (p[j] == .sp || p[j] == .htab) { j += 1 }
                if j == element.upperBound || p[j] != .semicolon { isTransferEncodingMalformed = true }
            }
            if equalsFolded(p, name, "chunked") {
                // chunked takes no parameters (RFC 9112 §7.1).
                if hasParameters { isTransferEncodingMalformed = true }
                chunkedCount += 1
                isChunkedLast = true
            } else {
                hasOtherCoding = true
                isChunkedLast = false
            }
        }
    }

    /// Decides the framing once every field is in (RFC 9112 §6.1, §6.3).
    mutating func headComplete(_ p: UnsafePointer<UInt8>) throws(ParseError) {
        if limits.requireHost && hostCount == 0 && head.version >= .http11 { throw .badHost }
        if hasTransferEncoding {
            // §6.1: TE in HTTP/1.0 means the framing is faulty; TE with CL is a smuggling shape.
            if head.version < .http11 { throw .badTransferEncoding }
            if contentLength != nil { throw .badContentLength }
            if isTransferEncodingMalformed { throw .badTransferEncoding }
            // §6.3 rule 4: chunked not final → 400; chunked applied twice is not allowed (§7).
            if chunkedCount != 1 || !isChunkedLast { throw .badTransferEncoding }
            // §6.1: a coding we do not implement → 501.
            if hasOtherCoding { throw .unsupportedTransferCoding }
            head.framing = .chunked
        } else if let contentLength {
            if let maxBody = limits.maxBodySize, contentLength > maxBody { throw .bodyTooLarge }
            head.framing = .contentLength(contentLength)
        } else {
            head.framing = .none
        }
        if head.isConnect {
            // RFC 9110 §9.3.6: CONNECT content has no defined semantics; what follows the
            // head belongs to the tunnel, never to this request.
            head.framing = .none
        }
        switch head.framing {
        case .none: state = .contentBody(remaining: 0)
        case .contentLength(let length): state = .contentBody(remaining: length)
        case .chunked: state = .chunkSizeStart
        }
    }
}
