import Glibc
import HTTPServerHTTP1
import HTTPServerReactor


/// The base class of request handlers. Equivalent to Python's `BaseHTTPRequestHandler`.
///
/// Subclass it and override `doGET()`, `doPOST()`, … (Python's `do_GET`, `do_POST`). One instance
/// serves one connection, for all its keep-alive requests, as in Python. On an `HTTPServer`,
/// everything a handler does runs on the server's reactor thread, so a handler must not block: the
/// request body has already been received when `doPOST()` runs (`rfile`), and what it writes to
/// `wfile` is queued and sent by the reactor. On a `ThreadingHTTPServer`, `doXXX()` runs on a
/// worker thread and may block; `wfile` then behaves as a blocking socket.
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
    // callgrind: −679 instructions per keep-alive request (a safe unowned reference: the connection
    // detaches its handler before it is freed)
    @exclusivity(unchecked) unowned var connection: HTTPConnection?

    /// A handler not yet attached to a connection. `HTTPServer(_:handler:)` calls it once per
    /// connection.
    public required init() {}

    // MARK: Class-level settings (Python class attributes; override the getter to change them)

    /// `server_version`; with `sysVersion` it makes the `Server` header.
    open var serverVersion: String { "BaseHTTP/0.6" }
    /// `sys_version`: the language and its version, in Python's `name/version` form.
    open var sysVersion: String { LogFormat.swiftVersion }
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
    /// When the current request's head arrived (for the access log's duration).
    var requestStart = Instant(nanoseconds: 0)
    /// `server`: the server this connection belongs to.
    public var server: HTTPServer {
        guard let server = connection?.context.server ?? attachedServer else {
            preconditionFailure("this handler is not attached to an HTTPServer")
        }
        return server
    }
    // callgrind: −246 instructions per keep-alive request
    /// `close_connection`: whether the connection closes after the current response.
    @exclusivity(unchecked) public var closeConnection = true
    /// `rfile`: the request body.
    public var rfile: RequestBody { RequestBody(handler: self) }
    /// `wfile`: where the response goes.
    public var wfile: ResponseWriter { ResponseWriter(handler: self) }

    /// Set while a request that failed to parse is answered: its fields are not in the parser.
    var isErrorRequest = false
    /// An `AsyncHTTPRequestHandler`: the connection runs its requests as tasks.
    var isAsync: Bool { false }
    var isProtocolHTTP11 = false


    package var isHTTP09: Bool { isHTTP09Request && !isErrorRequest }
    private var isHTTP09Request = false
    /// The request is HTTP/1.0: keep-alive must be announced (RFC 9112 §9.3).
    var isHTTP10Request = false
    /// The current request is HEAD (its response carries no body).
    package var isHEADRequest: Bool { isHEAD }
    private(set) var isHEAD = false
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
        isHEAD = method == .head
        guard let connection else { return }
        if connection.context.metrics != nil || connection.context.log.logsAccessAtCompletion {
            requestStart = connection.context.requestClockNow()
        }
        if !isProtocolChecked {
            // `protocolVersion` is a class-level setting: read once per connection.
            isProtocolHTTP11 = protocolVersion >= "HTTP/1.1"
            isProtocolChecked = true
        }
        let version = connection.parser.head.version
        isHTTP09Request = version == .http09
        isHTTP10Request = version == .http10
        // Python: keep-alive only when the server speaks HTTP/1.1 and the request keeps the
        // connection (`RequestHead.isKeepAlive`); the server may have decided to close anyway.
        closeConnection = serverCloses || !(isProtocolHTTP11 && connection.parser.head.isKeepAlive)
    }

    /// Called when a request could not be parsed, before its error page is sent.
    func prepareForError(_ error: ParseError, detail: HTTPConnection.FailureDetail) {
        closeConnection = true
        if case .refusedAfterHead = detail { return }
        beginRequestCaches()
        isHEAD = false
        isHTTP09Request = false
        isHTTP10Request = false
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
                isHEAD = first == "HEAD"
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
    /// On a `ThreadingHTTPServer`, `doXXX()` then runs on a worker, where `rfile.read` and
    /// `readline` also read the stream, waiting for its bytes as over a blocking socket.
    open func wantsStreamingBody() -> Bool { false }

    // MARK: Methods

    /// Python's `do_GET()`: serves a GET request. The default calls `doMethod("GET")`.
    open func doGET() throws { try doMethod("GET") }
    /// Python's `do_HEAD()`: serves a HEAD request. The default calls `doMethod("HEAD")`.
    open func doHEAD() throws { try doMethod("HEAD") }
    /// Python's `do_POST()`: serves a POST request. The default calls `doMethod("POST")`.
    open func doPOST() throws { try doMethod("POST") }
    /// Python's `do_PUT()`: serves a PUT request. The default calls `doMethod("PUT")`.
    open func doPUT() throws { try doMethod("PUT") }
    /// Python's `do_DELETE()`: serves a DELETE request. The default calls `doMethod("DELETE")`.
    open func doDELETE() throws { try doMethod("DELETE") }
    /// Python's `do_OPTIONS()`: serves a OPTIONS request. The default calls `doMethod("OPTIONS")`.
    open func doOPTIONS() throws { try doMethod("OPTIONS") }
    /// Python's `do_PATCH()`: serves a PATCH request. The default calls `doMethod("PATCH")`.
    open func doPATCH() throws { try doMethod("PATCH") }
    /// Python's `do_TRACE()`: serves a TRACE request. The default calls `doMethod("TRACE")`.
    open func doTRACE() throws { try doMethod("TRACE") }
    /// Python's `do_CONNECT()`: serves a CONNECT request. The default calls `doMethod("CONNECT")`.
    open func doCONNECT() throws { try doMethod("CONNECT") }

    /// Serves any method that has no `doXXX()` of its own (and those whose `doXXX()` is not
    /// overridden). The default answers 501 `Unsupported method ('SPAM')`, as Python does.
    open func doMethod(_ command: String) throws {
        sendError(501, message: "Unsupported method (\(PythonText.repr(command)))")
    }

    // MARK: Responses (the template; the bytes are written in BaseHTTPRequestHandler+ResponseHead)

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
        let body = ErrorPage.body(format: errorMessageFormat, code: code.code, message: shortMessage,
                                  explain: longMessage)
        if let body {
            sendHeader("Content-Type", errorContentType)
            sendHeader("Content-Length", String(body.count))
        }
        endHeaders()
        if !isHEADRequest, let body {
            wfile.write(body)
        }
    }

    /// Python's `send_response(code, message)`: logs the request, then sends the status line and
    /// the `Server` and `Date` headers (buffered until `endHeaders()`).
    open func sendResponse(_ code: HTTPStatus, message: String? = nil) {
        logRequest(code)
        sendResponseOnly(code, message: message)
        writeServerAndDateLines()
    }

    /// Python's `send_response_only(code, message)`: the status line alone. Nothing for HTTP/0.9.
    open func sendResponseOnly(_ code: HTTPStatus, message: String? = nil) {
        writeStatusLine(code, message: message)
    }

    /// Python's `send_header(keyword, value)`. A name or value holding CR or LF is refused (logged
    /// and left out), so that no input can split the response. `Connection: close` / `keep-alive`
    /// set `closeConnection`, as in Python.
    open func sendHeader(_ keyword: String, _ value: String) {
        writeHeader(keyword, value)
    }

    /// Python's `end_headers()`: ends the header section and queues it.
    ///
    /// Beyond Python: a keep-alive response that says neither `Content-Length` nor chunked framing
    /// (and may have a body) would leave the client waiting for an end that never comes; such a
    /// response gets `Connection: close` here and the connection closes after it.
    open func endHeaders() {
        writeEndOfHead()
    }

    /// Python's `flush_headers()`: queues the headers sent so far and starts writing them.
    open func flushHeaders() {
        connection?.flushFromHandler()
    }

    // MARK: Logging

    /// Python's `log_request(code, size)`: one access-log line. (With another `accessLogFormat`, or
    /// a `.logger` destination, the line is written when the response is complete instead.)
    open func logRequest(_ code: HTTPStatus? = nil, size: Int? = nil) {
        guard let connection, connection.context.log.isEnabled, !connection.context.log.logsAccessAtCompletion
        else { return }
        let codeText = code.map { String($0.code) } ?? "-"
        let sizeText = size.map { String($0) } ?? "-"
        logMessage("\"\(requestline)\" \(codeText) \(sizeText)")
    }

    /// Python's `log_error(format, *args)`.
    open func logError(_ message: String) {
        if logsToLogger {
            connection?.context.log.record(.error, message) { loggerMetadata() }
            return
        }
        logMessage(message)
    }

    /// Python's `log_message(format, *args)`: `host - - [date] message` to the server's log
    /// (standard error by default), control characters escaped. Override to silence or redirect;
    /// or set the server's `logDestination`.
    open func logMessage(_ message: String) {
        guard let connection, connection.context.log.isEnabled else { return }
        if logsToLogger {
            connection.context.log.record(.info, message) { loggerMetadata() }
            return
        }
        let line = "\(addressString()) - - [\(logDateTimeString())] \(PythonText.escapeControlCharacters(message))"
        if let job = connection.workerJob {
            job.logLines.append(line)  // the log is the reactor's: written when the handler returns
        } else {
            connection.context.log.write(line)
        }
    }

    /// Python's `version_string()`: `serverVersion + " " + sysVersion`.
    open func versionString() -> String {
        serverVersion + " " + sysVersion
    }

    /// Python's `date_time_string(timestamp)`: an HTTP date, now by default. (The `Date` header
    /// itself is formatted by the server once a second; overriding this does not change it.)
    open func dateTimeString(timestamp: Int64? = nil) -> String {
        HTTPDate.string(epochSeconds: timestamp ?? epochSeconds())
    }

    /// Python's `log_date_time_string()`: local time as `21/Nov/2026 10:00:00`.
    open func logDateTimeString() -> String {
        let now = epochSeconds()
        guard let connection, connection.workerJob == nil else { return LogFormat.dateTime(now) }
        let context = connection.context
        // Formatted once a second for all connections: a log line each request is common.
        if context.logDate.second != now {
            context.logDate = (now, LogFormat.dateTime(now))
        }
        return context.logDate.text
    }

    /// Python's `address_string()`: the client's host.
    open func addressString() -> String {
        clientAddress.host
    }
}
