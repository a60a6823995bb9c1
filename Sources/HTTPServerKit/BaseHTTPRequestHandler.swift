import Glibc
import HTTP1
import Reactor

/// Python's error page, `http.server.DEFAULT_ERROR_MESSAGE`, with its `%(name)s` placeholders.
public let defaultErrorMessageFormat = """
<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>

"""

/// Python's `http.server.DEFAULT_ERROR_CONTENT_TYPE`.
public let defaultErrorContentType = "text/html;charset=utf-8"

/// The base class of request handlers. Equivalent to Python's `BaseHTTPRequestHandler`.
///
/// Subclass it and override `doGET()`, `doPOST()`, … (Python's `do_GET`, `do_POST`). One instance
/// serves one connection, for all its keep-alive requests, as in Python. Everything a handler does
/// runs on the server's reactor thread, so a handler must not block: the request body has already
/// been received when `doPOST()` runs (`rfile`), and what it writes to `wfile` is queued and sent by
/// the reactor.
///
/// ```swift
/// final class Hello: BaseHTTPRequestHandler {
///     override func doGET() throws {
///         sendResponse(200)
///         sendHeader("Content-Type", "text/plain")
///         sendHeader("Content-Length", "13")
///         endHeaders()
///         wfile.write("Hello, World!")
///     }
/// }
/// ```
///
/// Method dispatch: Swift cannot look a method up by name as Python's `getattr(self, 'do_' +
/// command)` does, so the connection calls `doGET()`, `doHEAD()`, `doPOST()`, `doPUT()`,
/// `doDELETE()`, `doOPTIONS()`, `doPATCH()`, `doTRACE()` and `doCONNECT()` for those methods, and
/// `doMethod(_:)` for every other token. Each `doXXX()` calls `doMethod("XXX")` unless overridden,
/// and `doMethod(_:)` answers 501 `Unsupported method ('XXX')` unless overridden — Python's answer
/// for a method the handler has no `do_` function for. Override `doMethod(_:)` to serve any method.
open class BaseHTTPRequestHandler {
    unowned var connection: HTTPConnection?

    public required init() {}

    // MARK: Class-level settings (Python class attributes; override the getter to change them)

    /// `server_version`; with `sysVersion` it makes the `Server` header.
    open var serverVersion: String { "BaseHTTP/0.6" }
    /// `sys_version`: the language and its version, in Python's `name/version` form.
    open var sysVersion: String { swiftVersionString }
    /// `error_message_format`: a Python %-format with `code`, `message` and `explain`.
    open var errorMessageFormat: String { defaultErrorMessageFormat }
    /// `error_content_type`.
    open var errorContentType: String { defaultErrorContentType }
    /// `protocol_version`: "HTTP/1.0" (close after each response) or "HTTP/1.1" (keep-alive; then
    /// every response must say its length — one that does not is closed after, see `endHeaders()`).
    open var protocolVersion: String { "HTTP/1.0" }
    /// `responses`: code → (short message, long explanation), as Python's table.
    open var responses: [Int: (phrase: String, explanation: String)] { HTTPStatus.table }

    // MARK: Connection and request (Python instance attributes)

    /// `client_address`: the peer's host and port.
    public internal(set) var clientAddress: (host: String, port: Int) = ("", 0)
    /// `server`: the server this connection belongs to.
    public var server: HTTPServer {
        guard let server = connection?.context.server ?? attachedServer else {
            preconditionFailure("this handler is not attached to an HTTPServer")
        }
        return server
    }
    /// `close_connection`: whether the connection closes after the current response.
    public var closeConnection = true
    /// `rfile`: the request body.
    public var rfile: RequestBody { RequestBody(handler: self) }
    /// `wfile`: where the response goes.
    public var wfile: ResponseWriter { ResponseWriter(handler: self) }

    // The request's attributes are built on demand and kept with the request (in the connection's
    // exchange), so that an idle connection's handler holds none of them.
    private var cachedRequestline: String? {
        get { connection?.currentExchange?.requestline }
        set { connection?.currentExchange?.requestline = newValue }
    }
    private var cachedCommand: String? {
        get { connection?.currentExchange?.command }
        set { connection?.currentExchange?.command = newValue }
    }
    private var cachedPath: String? {
        get { connection?.currentExchange?.path }
        set { connection?.currentExchange?.path = newValue }
    }
    private var cachedRequestVersion: String? {
        get { connection?.currentExchange?.requestVersion }
        set { connection?.currentExchange?.requestVersion = newValue }
    }
    private var cachedHeaders: HTTPHeaders? {
        get { connection?.currentExchange?.headers }
        set { connection?.currentExchange?.headers = newValue }
    }
    /// Set while a request that failed to parse is answered: its fields are not in the parser.
    private var isErrorRequest = false
    var isProtocolHTTP11 = false

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
    public var requestTarget: String { headString(\.target) }

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

    var isHTTP09: Bool { isHTTP09Request && !isErrorRequest }
    private var isHTTP09Request = false
    /// The current request is HEAD (its response carries no body).
    private(set) var isHEADRequest = false
    private(set) var requestMethod = KnownMethod.other
    private var isProtocolChecked = false

    // MARK: Lifecycle

    func attach(to connection: HTTPConnection, peer: SocketAddress?) {
        self.connection = connection
        attachedServer = connection.context.server
        if let peer { clientAddress = (peer.host, peer.port) }
    }

    /// The connection has closed and is about to be freed: a handler that outlives it (deferred work
    /// that completes after the client has gone) must find nothing rather than a dangling pointer.
    func detach() {
        connection = nil
    }

    /// `server`, for a handler that outlives its connection.
    private weak var attachedServer: HTTPServer?

    /// `clientAddress` as a socket address (for `HTTPServer.handleError`).
    var clientSocketAddress: SocketAddress? {
        clientAddress.host.isEmpty ? nil : try? SocketAddress(ip: clientAddress.host, port: clientAddress.port)
    }

    /// Called by the connection when a request head has arrived: Python's `parse_request` decisions.
    func beginRequest(method: KnownMethod, serverCloses: Bool) {
        isErrorRequest = false
        requestMethod = method
        isHEADRequest = method == .head
        guard let connection else { return }
        if !isProtocolChecked {
            // `protocolVersion` is a class-level setting: read once per connection.
            isProtocolHTTP11 = protocolVersion >= "HTTP/1.1"
            isProtocolChecked = true
        }
        let version = connection.parser.head.version
        isHTTP09Request = version == .http09
        // Python: keep-alive only when the server speaks HTTP/1.1 and the request keeps the
        // connection (`RequestHead.isKeepAlive`); the server may have decided to close anyway.
        closeConnection = serverCloses || !(isProtocolHTTP11 && connection.parser.head.isKeepAlive)
    }

    /// Called when a request could not be parsed, before its error page is sent.
    func prepareForError(_ error: ParseError, detail: HTTPConnection.FailureDetail) {
        closeConnection = true
        if case .refusedAfterHead = detail { return }
        beginRequestCaches()
        isHEADRequest = false
        isHTTP09Request = false
        isErrorRequest = true
        closeConnection = true
        cachedRequestVersion = ""
        cachedCommand = ""
        cachedPath = ""
        switch detail {
        case .parser(let buffer):
            cachedRequestline = error.kind == .requestLineTooLong ? "" : ErrorMessages.firstLine(of: buffer)
            // Python reports the method when it has read it: HEAD answers carry no body.
            let words = PythonText.splitWords(cachedRequestline ?? "")
            if error.kind != .badRequestLine && error.kind != .requestLineTooLong, let first = words.first {
                cachedCommand = String(first)
                isHEADRequest = first == "HEAD"
            }
        case .incomplete, .timeout:
            cachedRequestline = ""
        case .refusedAfterHead:
            break
        }
    }

    private func beginRequestCaches() {
        cachedRequestline = nil
        cachedCommand = nil
        cachedPath = nil
        cachedRequestVersion = nil
        cachedHeaders = nil
    }

    /// Called after the response to a request has been handled.
    func endRequest() {
        isErrorRequest = false
    }

    /// Python's `setup()`: called once when the handler is created for its connection.
    open func setup() {}

    /// Python's `handle()`. Python runs the connection's request loop in it; here the connection's
    /// state machine runs that loop (the handler must not block), so `handle()` is only a hook
    /// called once, after `setup()`, before the first request is handled.
    open func handle() {}

    /// Python's `finish()`: called once when the connection has closed.
    open func finish() {}

    /// Python's `handle_one_request()`, after parsing: calls the `doXXX()` method for the request's
    /// command. The connection has already read and parsed the request, body included.
    open func handleOneRequest() throws {
        switch requestMethod {
        case .get: try doGET()
        case .head: try doHEAD()
        case .post: try doPOST()
        case .put: try doPUT()
        case .delete: try doDELETE()
        case .options: try doOPTIONS()
        case .patch: try doPATCH()
        case .trace: try doTRACE()
        case .connect: try doCONNECT()
        case .other: try doMethod(command)
        }
        // Python ends with `wfile.flush()`; here the connection writes once it has handled every
        // request of the current read, so that pipelined responses leave in one system call.
    }

    /// Python's `handle_expect_100()`: asked when a request says `Expect: 100-continue` (and both
    /// sides speak HTTP/1.1), before its body is read. The default sends `100 Continue` and returns
    /// true. Return false to refuse the body (send your own error first, e.g. 417); the body is then
    /// not read and the connection closes after the response.
    open func handleExpect100() -> Bool {
        sendResponseOnly(100)
        endHeaders()
        return true
    }

    // MARK: Streaming and deferred responses (beyond Python)

    /// Asked when a request head with a body has arrived. Return true to receive the body as a
    /// stream: `doXXX()` then runs at once, and the body comes through `rfile.onData` / `rfile.onEnd`
    /// with backpressure (`rfile.pause()` / `rfile.resume()`), free of `maxBodySize`'s bound on
    /// memory. The default (false) receives the whole body before `doXXX()` runs, as Python does.
    open func wantsStreamingBody() -> Bool { false }

    /// Keeps the response open after `doXXX()` returns: the connection waits for `finishResponse()`
    /// before it reads the next request. For handlers that answer from work the reactor does later
    /// (a child process, a timer, a streamed upload).
    public func deferResponse() {
        connection?.responseDeferred()
    }

    /// Ends a response begun with `deferResponse()`.
    public func finishResponse() {
        connection?.deferredResponseFinished()
    }

    /// Calls `body` once if the client closes its side of the connection while this request's
    /// deferred response is still open. Python notices a client that left only when a write fails;
    /// a handler whose work is wasted once nobody waits for it (a CGI script that prints nothing
    /// for a minute) wants to know sooner. TCP cannot tell a client that half-closed and still
    /// reads from one that has gone: like nginx, take it as the client leaving. While watched, the
    /// connection keeps reading; if the client sends more (a pipelined request), reading pauses as
    /// usual and the watch ends without a call. A reset closes the connection: `finish()` is
    /// called then, as always.
    public func whenClientCloses(_ body: @escaping () -> Void) {
        connection?.watchClientClose(body)
    }

    /// True while the client is still connected.
    public var isConnected: Bool {
        guard let connection else { return false }
        return connection.state != .closed
    }

    // MARK: Methods

    open func doGET() throws { try doMethod("GET") }
    open func doHEAD() throws { try doMethod("HEAD") }
    open func doPOST() throws { try doMethod("POST") }
    open func doPUT() throws { try doMethod("PUT") }
    open func doDELETE() throws { try doMethod("DELETE") }
    open func doOPTIONS() throws { try doMethod("OPTIONS") }
    open func doPATCH() throws { try doMethod("PATCH") }
    open func doTRACE() throws { try doMethod("TRACE") }
    open func doCONNECT() throws { try doMethod("CONNECT") }

    /// Serves any method that has no `doXXX()` of its own (and those whose `doXXX()` is not
    /// overridden). The default answers 501 `Unsupported method ('SPAM')`, as Python does.
    open func doMethod(_ command: String) throws {
        sendError(501, message: "Unsupported method (\(PythonText.repr(command)))")
    }

    // MARK: Responses

    /// Python's `send_error(code, message, explain)`: logs, sends the status line with `Server`,
    /// `Date` and `Connection: close`, and the error page rendered with `errorMessageFormat` (no
    /// body for HEAD requests and for 1xx, 204, 205 and 304).
    open func sendError(_ code: HTTPStatus, message: String? = nil, explain: String? = nil) {
        let entry = responses[code.code]
        let shortMessage = message ?? entry?.phrase ?? "???"
        let longMessage = explain ?? entry?.explanation ?? "???"
        logError("code \(code.code), message \(shortMessage)")
        sendResponse(code, message: shortMessage)
        sendHeader("Connection", "close")
        var body: [UInt8] = []
        if code.code >= 200 && code.code != 204 && code.code != 205 && code.code != 304 {
            let page = PythonText.percentFormat(errorMessageFormat, [
                "code": String(code.code),
                "message": PythonText.htmlEscape(shortMessage),
                "explain": PythonText.htmlEscape(longMessage),
            ])
            body = Array(page.utf8)
            sendHeader("Content-Type", errorContentType)
            sendHeader("Content-Length", String(body.count))
        }
        endHeaders()
        if !isHEADRequest && !body.isEmpty {
            wfile.write(body)
        }
    }

    /// Python's `send_response(code, message)`: logs the request, then sends the status line and
    /// the `Server` and `Date` headers (buffered until `endHeaders()`).
    open func sendResponse(_ code: HTTPStatus, message: String? = nil) {
        logRequest(code)
        sendResponseOnly(code, message: message)
        guard let connection, !isHTTP09 else { return }
        // `Server` and `Date` are the same for every response: both lines are kept ready-made
        // (`versionString()` is asked once per server and handler class).
        let context = connection.context
        let owner = ObjectIdentifier(type(of: self))
        if context.serverLine?.owner != owner {
            context.serverLine = (owner, Array("Server: \(versionString())\r\n".utf8))
        }
        context.serverLine.unsafelyUnwrapped.bytes.withUnsafeBytes { connection.writeHead($0) }
        connection.context.withDateLine { connection.writeHead($0) }
    }

    /// Python's `send_response_only(code, message)`: the status line alone. Nothing for HTTP/0.9.
    open func sendResponseOnly(_ code: HTTPStatus, message: String? = nil) {
        guard let connection, !isHTTP09 else { return }
        if connection.response.headMark == nil {
            connection.response.headMark = connection.markHead()
        }
        connection.response.pendingStatus = code.code
        let owner = ObjectIdentifier(type(of: self))
        if message == nil, let cached = connection.context.statusLine, cached.code == code.code, cached.owner == owner {
            cached.bytes.withUnsafeBytes { connection.writeHead($0) }
            return
        }
        let phrase = message ?? responses[code.code]?.phrase ?? ""
        let line = Array("\(protocolVersion) \(code.code) \(phrase)\r\n".utf8)
        line.withUnsafeBytes { connection.writeHead($0) }
        if message == nil {
            connection.context.statusLine = (owner, code.code, line)
        }
    }

    /// Python's `send_header(keyword, value)`. A name or value holding CR or LF is refused (logged
    /// and left out), so that no input can split the response. `Connection: close` / `keep-alive`
    /// set `closeConnection`, as in Python.
    open func sendHeader(_ keyword: String, _ value: String) {
        guard let connection else { return }
        var keyword = keyword
        var value = value
        let accepted = keyword.withUTF8 { name in
            value.withUTF8 { text in
                sendHeaderBytes(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(text), connection)
            }
        }
        if !accepted {
            logError("refused header \(PythonText.repr(keyword)) with a line break in its name or value")
        }
    }

    @inline(__always)
    private func sendHeaderBytes(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                 _ connection: HTTPConnection) -> Bool {
        if name.isEmpty || Self.hasLineBreak(name) || Self.hasLineBreak(value) { return false }
        switch name.count {
        case 10, 14, 17: noteSpecialHeader(name, value, connection)
        default: break
        }
        guard !isHTTP09 else { return true }
        if connection.response.headMark == nil {
            connection.response.headMark = connection.markHead()
        }
        connection.writeHeaderLine(name, value)
        return true
    }

    private func noteSpecialHeader(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                   _ connection: HTTPConnection) {
        let all = 0..<name.count
        let valueRange = 0..<value.count
        if asciiCaseInsensitiveEquals(name, all, "connection") {
            connection.response.sentConnectionHeader = true
            if asciiCaseInsensitiveEquals(value, valueRange, "close") {
                closeConnection = true
            } else if asciiCaseInsensitiveEquals(value, valueRange, "keep-alive") {
                closeConnection = false
            }
        } else if asciiCaseInsensitiveEquals(name, all, "content-length") {
            var trimmed = valueRange
            while trimmed.lowerBound < trimmed.upperBound && (value[trimmed.lowerBound] == 32 || value[trimmed.lowerBound] == 9) {
                trimmed = (trimmed.lowerBound + 1)..<trimmed.upperBound
            }
            while trimmed.upperBound > trimmed.lowerBound && (value[trimmed.upperBound - 1] == 32 || value[trimmed.upperBound - 1] == 9) {
                trimmed = trimmed.lowerBound..<(trimmed.upperBound - 1)
            }
            connection.response.declaredLength = asciiDecimalValue(value, trimmed)
        } else if asciiCaseInsensitiveEquals(name, all, "transfer-encoding") {
            connection.response.isChunked = asciiTokenListContains(value, valueRange, "chunked")
        }
    }

    @inline(__always)
    private static func hasLineBreak(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
        return memchr(base, 10, bytes.count) != nil || memchr(base, 13, bytes.count) != nil
    }

    /// Python's `end_headers()`: ends the header section and queues it.
    ///
    /// Beyond Python: a keep-alive response that says neither `Content-Length` nor chunked framing
    /// (and may have a body) would leave the client waiting for an end that never comes; such a
    /// response gets `Connection: close` here and the connection closes after it.
    open func endHeaders() {
        guard let connection, !isHTTP09 else { return }
        let status = connection.response.pendingStatus ?? 200
        let isInterim = status < 200
        if !isInterim {
            let bodyless = isHEADRequest || status == 204 || status == 304
            connection.response.isBodyAllowed = !bodyless
            let framed = connection.response.declaredLength != nil || connection.response.isChunked || bodyless
            if !framed && !closeConnection {
                Self.connectionClose.withUnsafeBytes { connection.writeHead($0) }
                closeConnection = true
                connection.response.sentConnectionHeader = true
            } else if closeConnection && !connection.response.sentConnectionHeader
                        && (connection.endsAfterCurrentRequest || isProtocolHTTP11) {
                // RFC 9112 §9.6: a server that closes after this response says so, so that an
                // HTTP/1.1 client does not send its next request into a closing connection.
                // (Python does not; in HTTP/1.0 mode closing is the default and goes unsaid.)
                Self.connectionClose.withUnsafeBytes { connection.writeHead($0) }
                connection.response.sentConnectionHeader = true
            }
        }
        Self.crlf.withUnsafeBytes { connection.writeHead($0) }
        connection.response.headMark = nil
        if isInterim {
            connection.response.pendingStatus = nil
            connection.response.declaredLength = nil
            connection.response.isChunked = false
            connection.flushOutput()
        } else {
            connection.response.finalStatus = status
        }
    }

    /// Python's `flush_headers()`: queues the headers sent so far and starts writing them.
    open func flushHeaders() {
        connection?.flushOutput()
    }

    // MARK: Logging

    /// Python's `log_request(code, size)`: one access-log line.
    open func logRequest(_ code: HTTPStatus? = nil, size: Int? = nil) {
        guard let connection, connection.context.log.isEnabled else { return }
        let codeText = code.map { String($0.code) } ?? "-"
        let sizeText = size.map { String($0) } ?? "-"
        logMessage("\"\(requestline)\" \(codeText) \(sizeText)")
    }

    /// Python's `log_error(format, *args)`.
    open func logError(_ message: String) {
        logMessage(message)
    }

    /// Python's `log_message(format, *args)`: `host - - [date] message` to the server's log
    /// (standard error by default), control characters escaped. Override to silence or redirect;
    /// or set the server's `logDestination`.
    open func logMessage(_ message: String) {
        guard let connection, connection.context.log.isEnabled else { return }
        let line = "\(addressString()) - - [\(logDateTimeString())] \(PythonText.escapeControlCharacters(message))"
        connection.context.log.write(line)
    }

    /// Python's `version_string()`: `serverVersion + " " + sysVersion`.
    open func versionString() -> String {
        serverVersion + " " + sysVersion
    }

    /// Python's `date_time_string(timestamp)`: an HTTP date, now by default. (The `Date` header
    /// itself is formatted by the server once a second; overriding this does not change it.)
    open func dateTimeString(timestamp: Int64? = nil) -> String {
        HTTPDate.string(epochSeconds: timestamp ?? connection?.context.wallClock() ?? Int64(time(nil)))
    }

    /// Python's `log_date_time_string()`: local time as `21/Nov/2026 10:00:00`.
    open func logDateTimeString() -> String {
        let now = connection?.context.wallClock() ?? Int64(time(nil))
        if let context = connection?.context {
            // Formatted once a second for all connections: a log line each request is common.
            if context.logDate.second != now {
                context.logDate = (now, Self.formatLogDate(now))
            }
            return context.logDate.text
        }
        return Self.formatLogDate(now)
    }

    static func formatLogDate(_ epochSeconds: Int64) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(parts.tm_mday))/\(months[Int(parts.tm_mon)])/\(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// Python's `address_string()`: the client's host.
    open func addressString() -> String {
        clientAddress.host
    }

    // MARK: Constants

    private static let crlf: StaticString = "\r\n"
    private static let connectionClose: StaticString = "Connection: close\r\n"
}

/// The methods that have a `doXXX()` of their own, recognised from the raw token.
enum KnownMethod {
    case get, head, post, put, delete, options, patch, trace, connect, other

    init(_ token: UnsafeRawBufferPointer) {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == token.count
                && memcmp(literal.utf8Start, token.baseAddress!, token.count) == 0
        }
        switch token.count {
        case 3 where equals("GET"): self = .get
        case 3 where equals("PUT"): self = .put
        case 4 where equals("HEAD"): self = .head
        case 4 where equals("POST"): self = .post
        case 5 where equals("PATCH"): self = .patch
        case 5 where equals("TRACE"): self = .trace
        case 6 where equals("DELETE"): self = .delete
        case 7 where equals("OPTIONS"): self = .options
        case 7 where equals("CONNECT"): self = .connect
        default: self = .other
        }
    }
}

extension StaticString {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount))
    }
}

extension String {
    func trimmingASCIISpaces() -> Substring {
        var s = self[...]
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }

    func lowercasedASCII() -> String {
        String(decoding: utf8.map { HTTPHeaders.lower($0) }, as: UTF8.self)
    }
}

/// "Swift/6.3" and so on, fixed when the package is compiled.
let swiftVersionString: String = {
    #if compiler(>=6.4)
    return "Swift/6.4"
    #elseif compiler(>=6.3)
    return "Swift/6.3"
    #elseif compiler(>=6.2)
    return "Swift/6.2"
    #elseif compiler(>=6.1)
    return "Swift/6.1"
    #else
    return "Swift/6.0"
    #endif
}()
