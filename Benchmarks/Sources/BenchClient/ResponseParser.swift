// The load generator's own incremental HTTP/1.1 response parser. It keeps only what `bench`
// checks (status, framing, body length, Connection: close): the body bytes are counted and skipped.
// Resumable at every byte; allocation-free once its small name/value scratch buffers have grown.

/// One complete response as `bench` sees it.
public struct ResponseSummary: Equatable, Sendable {
    public var status: Int
    /// Body bytes after removing chunked framing.
    public var bodyLength: Int
    /// The server said `Connection: close`, or answered HTTP/1.0 without keep-alive, or framed the
    /// body by closing: the connection is done after this response.
    public var closes: Bool
    public init(status: Int, bodyLength: Int, closes: Bool) {
        self.status = status; self.bodyLength = bodyLength; self.closes = closes
    }
}

/// What one `parse` call found.
public enum ResponseEvent: Equatable, Sendable {
    /// All bytes consumed, no response finished.
    case needMore
    /// A 1xx interim response (e.g. `100 Continue`) ended at `consumed`.
    case informational(status: Int, consumed: Int)
    /// A final response ended at `consumed`.
    case response(ResponseSummary, consumed: Int)
}

/// A malformed response: `bench` counts it as an error and drops the connection.
public struct ResponseParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

public struct ResponseParser: Sendable {
    enum State: Equatable, Sendable {
        case statusLineVersion
        case statusLineCode
        case statusLineReason
        case headerLineStart
        case headerName
        case headerValue
        case headerLineLF
        case headersEndLF
        case bodyLength(remaining: Int)
        case bodyUntilClose
        case chunkSizeDigits
        case chunkExtension
        case chunkSizeLF
        case chunkData(remaining: Int)
        case chunkDataCR
        case chunkDataLF
        case trailerLineStart
        case trailerLine
        case trailerEndLF
    }

    /// Header fields the parser acts on.
    enum Field: Sendable { case other, contentLength, transferEncoding, connection }

    var state: State = .statusLineVersion
    var versionBytes = 0
    var isHTTP10 = false
    var status = 0
    var statusDigits = 0
    var contentLength: Int?
    var chunked = false
    var closes = false
    var keepAlive = false
    var bodyLength = 0
    var chunkSize = 0
    var field: Field = .other
    var name: [UInt8] = []
    var value: [UInt8] = []
    /// The next response answers a HEAD request: no body whatever the headers say.
    public var expectNoBody = false
    public var limits = (maxLine: 16 * 1024, maxHeaders: 200)
    var lineLength = 0
    var headerCount = 0

    public init() {
        name.reserveCapacity(32)
        value.reserveCapacity(64)
    }

    /// True when a response has started (EOF now loses it), unless its body is framed by the close.
    public var isMidResponse: Bool {
        switch state {
        case .statusLineVersion: versionBytes > 0
        case .bodyUntilClose: false
        default: true
        }
    }

    /// Parses from `bytes[start...]`. Call again with the rest after an event with `consumed`.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) throws(ResponseParseError) -> ResponseEvent {
        var i = start
        let n = bytes.count
        while i < n {
            switch state {
            case .bodyLength(let remaining):
                let take = min(remaining, n - i)
                i += take
                bodyLength += take
                if take == remaining { return finish(at: i) }
                state = .bodyLength(remaining: remaining - take)
                continue
            case .bodyUntilClose:
                bodyLength += n - i
                return .needMore
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                i += take
                bodyLength += take
                state = take == remaining ? .chunkDataCR : .chunkData(remaining: remaining - take)
                continue
            case .headerValue where field == .other, .statusLineReason:
                // Fast path: bytes we do not keep, up to the end of the line.
                var j = i
                while j < n && bytes[j] != Self.cr && bytes[j] != Self.lf { j += 1 }
                lineLength += j - i
                if lineLength > limits.maxLine { throw ResponseParseError("line too long") }
                i = j
                if i == n { return .needMore }
            default:
                break
            }
            let byte = bytes[i]
            i += 1
            if let event = try step(byte, at: i) { return event }
        }
        return .needMore
    }

    /// The peer closed. Returns the response it completed (body framed by the close), or nil.
    public mutating func endOfInput() -> ResponseSummary? {
        guard state == .bodyUntilClose else { return nil }
        let summary = ResponseSummary(status: status, bodyLength: bodyLength, closes: true)
        resetMessage()
        return summary
    }

    /// Forgets everything (a new connection).
    public mutating func reset() {
        resetMessage()
        expectNoBody = false
    }

    mutating func resetMessage() {
        state = .statusLineVersion
        versionBytes = 0; isHTTP10 = false; status = 0; statusDigits = 0
        contentLength = nil; chunked = false; closes = false; keepAlive = false
        bodyLength = 0; chunkSize = 0; lineLength = 0; headerCount = 0
        field = .other
        name.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
    }

    static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), sp = UInt8(ascii: " ")
    static let htab = UInt8(ascii: "\t"), colon = UInt8(ascii: ":")
    static let http1Prefix: [UInt8] = Array("HTTP/1.".utf8)

    @inline(__always)
    mutating func step(_ byte: UInt8, at i: Int) throws(ResponseParseError) -> ResponseEvent? {
        lineLength += 1
        if lineLength > limits.maxLine { throw ResponseParseError("line too long") }
        switch state {
        case .statusLineVersion:
            if versionBytes < 7 {
                guard byte == Self.http1Prefix[versionBytes] else { throw ResponseParseError("bad status line") }
            } else if versionBytes == 7 {
                guard byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") else {
                    throw ResponseParseError("bad version")
                }
                isHTTP10 = byte == UInt8(ascii: "0")
            } else {
                guard byte == Self.sp else { throw ResponseParseError("bad status line") }
                state = .statusLineCode
            }
            versionBytes += 1
        case .statusLineCode:
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") && statusDigits < 3 {
                status = status * 10 + Int(byte - UInt8(ascii: "0"))
                statusDigits += 1
            } else if statusDigits == 3 && byte == Self.sp {
                state = .statusLineReason
            } else if statusDigits == 3 && byte == Self.cr {
                state = .headerLineLF
            } else {
                throw ResponseParseError("bad status code")
            }
        case .statusLineReason:
            if byte == Self.cr { state = .headerLineLF }
            else if byte == Self.lf { lineDone() }
        case .headerLineLF:
            guard byte == Self.lf else { throw ResponseParseError("CR without LF") }
            lineDone()
        case .headerLineStart:
            if byte == Self.cr {
                state = .headersEndLF
            } else if byte == Self.lf {
                return try headersDone(at: i)
            } else if byte == Self.sp || byte == Self.htab || byte == Self.colon {
                throw ResponseParseError("bad header line")
            } else {
                headerCount += 1
                if headerCount > limits.maxHeaders { throw ResponseParseError("too many headers") }
                name.removeAll(keepingCapacity: true)
                name.append(Self.lower(byte))
                state = .headerName
            }
        case .headerName:
            if byte == Self.colon {
                field = Self.classify(name)
                value.removeAll(keepingCapacity: true)
                state = .headerValue
            } else if byte == Self.cr || byte == Self.lf || byte == Self.sp || byte == Self.htab {
                throw ResponseParseError("bad header name")
            } else if name.count < 32 {  // longer names are none of the ones we act on
                name.append(Self.lower(byte))
            }
        case .headerValue:
            if byte == Self.cr || byte == Self.lf {
                try fieldDone()
                if byte == Self.cr { state = .headerLineLF } else { lineDone() }
            } else if field != .other {
                if !(value.isEmpty && (byte == Self.sp || byte == Self.htab)) {
                    if value.count < 256 { value.append(Self.lower(byte)) }
                }
            }
        case .headersEndLF:
            guard byte == Self.lf else { throw ResponseParseError("CR without LF") }
            return try headersDone(at: i)
        case .chunkSizeDigits:
            if let d = Self.hexValue(byte) {
                guard chunkSize < (1 << 40) else { throw ResponseParseError("chunk too large") }
                chunkSize = chunkSize * 16 + d
            } else if byte == Self.cr {
                state = .chunkSizeLF
            } else if byte == UInt8(ascii: ";") || byte == Self.sp || byte == Self.htab {
                state = .chunkExtension
            } else if byte == Self.lf {
                return chunkSizeDone(at: i)
            } else {
                throw ResponseParseError("bad chunk size")
            }
        case .chunkExtension:
            if byte == Self.cr { state = .chunkSizeLF } else if byte == Self.lf { return chunkSizeDone(at: i) }
        case .chunkSizeLF:
            guard byte == Self.lf else { throw ResponseParseError("CR without LF") }
            return chunkSizeDone(at: i)
        case .chunkDataCR:
            if byte == Self.cr { state = .chunkDataLF }
            else if byte == Self.lf { startChunk() }
            else { throw ResponseParseError("chunk data longer than its size") }
        case .chunkDataLF:
            guard byte == Self.lf else { throw ResponseParseError("CR without LF") }
            startChunk()
        case .trailerLineStart:
            if byte == Self.cr { state = .trailerEndLF }
            else if byte == Self.lf { return finish(at: i) }
            else { state = .trailerLine }
        case .trailerLine:
            if byte == Self.lf { lineLength = 0; state = .trailerLineStart }
        case .trailerEndLF:
            guard byte == Self.lf else { throw ResponseParseError("CR without LF") }
            return finish(at: i)
        case .bodyLength, .bodyUntilClose, .chunkData:
            preconditionFailure("body states are handled in bulk by parse")
        }
        return nil
    }

    @inline(__always) mutating func lineDone() {
        lineLength = 0
        state = .headerLineStart
    }

    mutating func startChunk() {
        chunkSize = 0
        lineLength = 0
        state = .chunkSizeDigits
    }

    mutating func chunkSizeDone(at i: Int) -> ResponseEvent? {
        lineLength = 0
        if chunkSize == 0 {
            state = .trailerLineStart
        } else {
            state = .chunkData(remaining: chunkSize)
        }
        return nil
    }

    mutating func fieldDone() throws(ResponseParseError) {
        switch field {
        case .other:
            break
        case .contentLength:
            var v = 0
            var digits = 0
            for b in value where b != Self.sp && b != Self.htab {
                guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"), digits < 18 else {
                    throw ResponseParseError("bad Content-Length")
                }
                v = v * 10 + Int(b - UInt8(ascii: "0"))
                digits += 1
            }
            guard digits > 0 else { throw ResponseParseError("bad Content-Length") }
            if let old = contentLength, old != v { throw ResponseParseError("conflicting Content-Length") }
            contentLength = v
        case .transferEncoding:
            // The final coding decides: RFC 9112 §6.3.
            chunked = Self.lastTokenIsChunked(value)
        case .connection:
            if Self.hasToken(value, "close") { closes = true }
            if Self.hasToken(value, "keep-alive") { keepAlive = true }
        }
    }

    mutating func headersDone(at i: Int) throws(ResponseParseError) -> ResponseEvent? {
        lineLength = 0
        if status >= 100 && status < 200 {
            let s = status
            let noBody = expectNoBody
            resetMessage()
            expectNoBody = noBody
            return .informational(status: s, consumed: i)
        }
        if isHTTP10 && !keepAlive { closes = true }
        // RFC 9112 §6.3: HEAD, 204 and 304 have no body.
        if expectNoBody || status == 204 || status == 304 { return finish(at: i) }
        if chunked {
            startChunk()
        } else if let length = contentLength {
            if length == 0 { return finish(at: i) }
            state = .bodyLength(remaining: length)
        } else {
            closes = true
            state = .bodyUntilClose
        }
        return nil
    }

    mutating func finish(at i: Int) -> ResponseEvent {
        let summary = ResponseSummary(status: status, bodyLength: bodyLength, closes: closes)
        resetMessage()
        expectNoBody = false
        return .response(summary, consumed: i)
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(b - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    static func classify(_ name: [UInt8]) -> Field {
        switch name.count {
        case 14 where name.elementsEqual("content-length".utf8): .contentLength
        case 17 where name.elementsEqual("transfer-encoding".utf8): .transferEncoding
        case 10 where name.elementsEqual("connection".utf8): .connection
        default: .other
        }
    }

    /// Comma-separated tokens, OWS trimmed; `value` is already lowercase.
    static func hasToken(_ value: [UInt8], _ token: StaticString) -> Bool {
        let t = UnsafeRawBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, b = end
            while a < b && (value[a] == sp || value[a] == htab) { a += 1 }
            while b > a && (value[b - 1] == sp || value[b - 1] == htab) { b -= 1 }
            if b - a == t.count && value[a..<b].elementsEqual(t) { return true }
            start = end + 1
        }
        return false
    }

    static func lastTokenIsChunked(_ value: [UInt8]) -> Bool {
        var b = value.count
        while b > 0 && (value[b - 1] == sp || value[b - 1] == htab) { b -= 1 }
        var a = b
        while a > 0 && value[a - 1] != UInt8(ascii: ",") { a -= 1 }
        while a < b && (value[a] == sp || value[a] == htab) { a += 1 }
        return value[a..<b].elementsEqual("chunked".utf8)
    }
}
