import HTTPServerHTTP1

/// How the response being written frames itself, decided in one place: from the headers the
/// handler sends (`Content-Length`, `Transfer-Encoding: chunked`, `Connection`), whether the head
/// must add `Connection: close`, and how much of each body write goes out. The connection asks it
/// after the handler whether the response framed itself (and closes after it when it did not).
struct ResponseFraming {
    /// Where the head being built started; set from the status line until `endHeaders()`.
    var headMark: OutputQueue.Mark?
    /// The final (non-1xx) status, once its head has been ended.
    var finalStatus: Int?
    /// The status of the head being built.
    var pendingStatus: Int?
    var declaredLength: Int?
    var isChunked = false
    var sentConnectionHeader = false
    /// HEAD, 1xx, 204 and 304 responses carry no body (RFC 9110 §6.4.1): body writes are dropped.
    var isBodyAllowed = true
    var bodyWritten = 0
    /// Bytes written through `wfile` with no head at all (a handler writing a raw response).
    var wroteRawBytes = false

    var hasFinalStatus: Bool { finalStatus != nil }

    /// What a `Connection` header the handler sent asks for (Python's `send_header` sets
    /// `close_connection` from it).
    enum ConnectionOption {
        case close, keepAlive
    }

    /// Notes a header that frames the response; returns what a `Connection` header asks for.
    mutating func noteHeader(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> ConnectionOption? {
        let valueRange = 0..<value.count
        switch name.count {
        case 10 where asciiCaseInsensitiveEquals(name, 0..<10, "connection"):
            sentConnectionHeader = true
            if asciiCaseInsensitiveEquals(value, valueRange, "close") { return .close }
            if asciiCaseInsensitiveEquals(value, valueRange, "keep-alive") { return .keepAlive }
        case 14 where asciiCaseInsensitiveEquals(name, 0..<14, "content-length"):
            var trimmed = valueRange
            while trimmed.lowerBound < trimmed.upperBound && (value[trimmed.lowerBound] == 32 || value[trimmed.lowerBound] == 9) {
                trimmed = (trimmed.lowerBound + 1)..<trimmed.upperBound
            }
            while trimmed.upperBound > trimmed.lowerBound && (value[trimmed.upperBound - 1] == 32 || value[trimmed.upperBound - 1] == 9) {
                trimmed = trimmed.lowerBound..<(trimmed.upperBound - 1)
            }
            declaredLength = asciiDecimalValue(value, trimmed)
        case 17 where asciiCaseInsensitiveEquals(name, 0..<17, "transfer-encoding"):
            isChunked = asciiTokenListContains(value, valueRange, "chunked")
        default:
            break  // most headers stop here, on their length
        }
        return nil
    }

    /// The `Connection` line the framing adds to a final head.
    enum ConnectionLine {
        case close, keepAlive
    }

    /// The final head ends. Returns the `Connection` line that must be added to it, and sets
    /// `closeConnection` when the response cannot be delimited any other way.
    ///
    /// Beyond Python: a keep-alive response that says neither `Content-Length` nor chunked framing
    /// (and may have a body) would leave the client waiting for an end that never comes; it gets
    /// `Connection: close` and the connection closes after it. And RFC 9112 §9.6: a server that
    /// closes after a response says so (`announcesClose`: in HTTP/1.1 mode, or when the server
    /// itself ends the connection), so that an HTTP/1.1 client does not send its next request into
    /// a closing connection; Python does not, and in HTTP/1.0 mode closing goes unsaid.
    /// RFC 9112 §9.3 and RFC 2068 §19.7.1: an HTTP/1.0 connection persists only when the server
    /// says `Connection: keep-alive` (`announcesKeepAlive`); without it an HTTP/1.0 client (`ab -k`)
    /// waits for the close that delimits the response. Python keeps it open and does not say so.
    mutating func endFinalHead(status: Int, isHEADRequest: Bool, closeConnection: inout Bool,
                               announcesClose: Bool, announcesKeepAlive: Bool) -> ConnectionLine? {
        let bodyless = isHEADRequest || status == 204 || status == 304
        isBodyAllowed = !bodyless
        finalStatus = status
        headMark = nil
        let framed = declaredLength != nil || isChunked || bodyless
        let line: ConnectionLine
        if !framed && !closeConnection {
            closeConnection = true
            line = .close
        } else if closeConnection && !sentConnectionHeader && announcesClose {
            line = .close
        } else if !closeConnection && !sentConnectionHeader && announcesKeepAlive {
            line = .keepAlive
        } else {
            return nil
        }
        sentConnectionHeader = true
        return line
    }

    /// A 1xx head ends: the final response's framing is still to come.
    mutating func endInterimHead() {
        headMark = nil
        pendingStatus = nil
        declaredLength = nil
        isChunked = false
    }

    /// Whether a body write of `count` bytes goes out at all.
    mutating func admitBody(_ count: Int) -> Bool {
        if finalStatus == nil && headMark == nil {
            wroteRawBytes = true
            return true
        }
        return isBodyAllowed && count > 0
    }

    /// How much of a write of `count` bytes fits the declared Content-Length: never more, so that
    /// a handler that writes too much cannot desynchronise the client.
    mutating func clampBody(_ count: Int) -> Int {
        guard finalStatus != nil else { return count }
        var allowed = count
        if let declared = declaredLength, !isChunked {
            allowed = max(0, min(count, declared - bodyWritten))
        }
        bodyWritten += count
        return allowed
    }
}
