import HTTPServerHTTP1

/// The message and explanation of the error page for a request that could not be parsed, worded
/// as CPython's `parse_request` words them where it has an equivalent.
enum ErrorMessages {
    static func describe(_ error: ParseError, requestLine: String, detail: HTTPConnection.FailureDetail)
        -> (message: String?, explain: String?) {
        if case .timeout = detail { return (nil, nil) }
        if case .incomplete = detail { return ("Incomplete request", nil) }
        if case .refusedAfterHead = detail { return (nil, nil) }
        let words = PythonText.splitWords(requestLine)
        switch error.kind {
        case .badVersion:
            let version = words.last.map(String.init) ?? ""
            return ("Bad request version (\(PythonText.repr(version)))", nil)
        case .versionNotSupported:
            var base = words.last.map(String.init) ?? ""
            if base.hasPrefix("HTTP/") { base.removeFirst(5) }
            return ("Invalid HTTP version (\(base))", nil)
        case .badHTTP09Method:
            let command = words.first.map(String.init) ?? ""
            return ("Bad HTTP/0.9 request type (\(PythonText.repr(command)))", nil)
        case .badRequestLine:
            return ("Bad request syntax (\(PythonText.repr(requestLine)))", nil)
        case .requestLineTooLong:
            return (nil, nil)
        case .headerLineTooLong:
            return ("Line too long", "got more than \(65536) bytes when reading header line")
        case .tooManyHeaders:
            return ("Too many headers", "got more than \(100) headers")
        case .headTooLarge:
            return ("Request header section too large", nil)
        case .badHeader:
            return ("Bad header field", nil)
        case .badHost:
            return ("Bad Host header", nil)
        case .badContentLength:
            return ("Bad Content-Length", nil)
        case .unsupportedTransferCoding:
            return ("Unsupported transfer coding", nil)
        case .badTransferEncoding:
            return ("Bad Transfer-Encoding", nil)
        case .badChunk:
            return ("Bad chunked body", nil)
        case .bodyTooLarge:
            return (nil, nil)
        default:
            return (nil, nil)
        }
    }

    /// The first line of `buffer` (leading CRLFs skipped, CR/LF stripped), at most `limit` bytes,
    /// decoded as Latin-1: the request line an error page and the log talk about.
    static func firstLine(of buffer: UnsafeRawBufferPointer, limit: Int = 65536) -> String {
        var start = 0
        while start < buffer.count && (buffer[start] == 13 || buffer[start] == 10) { start += 1 }
        var end = start
        while end < buffer.count && buffer[end] != 10 && end - start < limit { end += 1 }
        var stop = end
        while stop > start && (buffer[stop - 1] == 13 || buffer[stop - 1] == 10) { stop -= 1 }
        return PythonText.latin1(UnsafeRawBufferPointer(rebasing: buffer[start..<stop]))
    }
}
