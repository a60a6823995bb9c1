import HTTPServerHTTP1

/// The request's attributes (Python's `requestline`, `command`, `path`, `request_version`,
/// `headers`), decoded from the parsed head's byte ranges only when a handler asks, and kept with
/// the request (in the connection's exchange), so that an idle connection's handler holds none.
extension BaseHTTPRequestHandler {
    var cachedRequestline: String? {
        get { connection?.currentExchange?.requestline }
        set { connection?.currentExchange?.requestline = newValue }
    }
    var cachedCommand: String? {
        get { connection?.currentExchange?.command }
        set { connection?.currentExchange?.command = newValue }
    }
    var cachedPath: String? {
        get { connection?.currentExchange?.path }
        set { connection?.currentExchange?.path = newValue }
    }
    var cachedRequestVersion: String? {
        get { connection?.currentExchange?.requestVersion }
        set { connection?.currentExchange?.requestVersion = newValue }
    }
    var cachedHeaders: HTTPHeaders? {
        get { connection?.currentExchange?.headers }
        set { connection?.currentExchange?.headers = newValue }
    }

    /// `requestline`: the request line without its CRLF, decoded as Latin-1.
    public var requestline: String {
        get { cached(&cachedRequestline) { connection?.withHeadBytes { ErrorMessages.firstLine(of: $0) } ?? "" } }
        set { cachedRequestline = newValue }
    }

    /// `command`: the method token, e.g. "GET".
    public var command: String {
        get { cached(&cachedCommand) { headString(\.method) } }
        set { cachedCommand = newValue }
    }

    /// `path`: the request target as sent, except that a leading `//` is reduced to `/` (Python's
    /// guard against open redirects).
    public var path: String {
        get {
            cached(&cachedPath) {
                let target = headString(\.target)
                guard target.hasPrefix("//") else { return target }
                return "/" + target.drop(while: { $0 == "/" })
            }
        }
        set { cachedPath = newValue }
    }

    /// The request target exactly as received (no `//` reduction).
    public var requestTarget: String { connection?.currentExchange?.requestTarget ?? headString(\.target) }

    /// `request_version`: "HTTP/1.1", "HTTP/1.0", or "HTTP/0.9" for a two-word request line.
    public var requestVersion: String {
        get {
            cached(&cachedRequestVersion) {
                guard let connection, !isErrorRequest else { return "" }
                if connection.parser.head.version == .http09 { return "HTTP/0.9" }
                return headString(\.versionToken)
            }
        }
        set { cachedRequestVersion = newValue }
    }

    /// `headers`: the header fields (Python's `http.client.HTTPMessage`).
    public var headers: HTTPHeaders {
        get {
            if let cachedHeaders { return cachedHeaders }
            var result = HTTPHeaders()
            if let connection, !isErrorRequest {
                let fields = connection.parser.head.headers
                connection.withHeadBytes { raw in
                    for field in fields {
                        result.add(PythonText.latin1(UnsafeRawBufferPointer(rebasing: raw[field.name])),
                                   PythonText.latin1(UnsafeRawBufferPointer(rebasing: raw[field.value])))
                    }
                }
            }
            cachedHeaders = result
            return result
        }
        set { cachedHeaders = newValue }
    }

    /// The trailer fields of a chunked request body (empty when there were none). Python's
    /// handler never decodes chunked bodies, so it has no equivalent.
    public var trailers: HTTPHeaders { connection?.currentExchange?.trailers ?? HTTPHeaders() }

    /// The first value of header `name`, without building the whole `headers` collection.
    public func header(_ name: String) -> String? {
        if let cachedHeaders { return cachedHeaders[name] }
        guard let connection, !isErrorRequest else { return nil }
        let fields = connection.parser.head.headers
        return connection.withHeadBytes { raw -> String? in
            for field in fields {
                let nameBytes = UnsafeRawBufferPointer(rebasing: raw[field.name])
                if nameBytes.count == name.utf8.count,
                   zip(nameBytes, name.utf8).allSatisfy({ HTTPHeaders.lower($0) == HTTPHeaders.lower($1) }) {
                    return PythonText.latin1(UnsafeRawBufferPointer(rebasing: raw[field.value]))
                }
            }
            return nil
        }
    }

    private func cached(_ slot: inout String?, _ make: () -> String) -> String {
        if let value = slot { return value }
        let value = make()
        slot = value
        return value
    }

    private func headString(_ field: KeyPath<RequestHead, Range<Int>>) -> String {
        guard let connection, !isErrorRequest else { return "" }
        let range = connection.parser.head[keyPath: field]
        return connection.withHeadBytes { raw in
            guard range.upperBound <= raw.count else { return "" }
            return PythonText.latin1(UnsafeRawBufferPointer(rebasing: raw[range]))
        }
    }
}
