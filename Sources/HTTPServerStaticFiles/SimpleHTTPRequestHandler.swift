import Glibc
import HTTPServerHTTP1
import HTTPServerReactor
import HTTPServerCore

/// Serves files and directory listings from `directory` for GET and HEAD. Equivalent to Python's
/// `http.server.SimpleHTTPRequestHandler` (CPython 3.11), with ranges, entity tags and extra headers.
///
/// ```swift
/// let server = try HTTPServer(("", 8000), handlerFactory: { SimpleHTTPRequestHandler(directory: "/srv/www") })
/// try server.serveForever()
/// ```
///
/// Where it differs from Python (see docs/static-files.md):
/// - `Accept-Ranges`, `ETag`, `Range` (206, `multipart/byteranges`, 416), `If-None-Match` and
///   `If-Range` are handled; `If-Modified-Since` is Python's.
/// - A NUL byte in the path gets 400 (Python drops the connection); a directory redirect whose
///   `Location` would be a network-path reference (`//host`, `/\host`) gets 404.
/// - Only regular files are served (a FIFO or a device, even through a link, is 404): opening a
///   FIFO would block the reactor, and `/dev/zero` has no length.
/// - File names that are not UTF-8 are listed byte for byte as Python lists them, but a request
///   for one is 404 (`translatePath` returns a `String`).
open class SimpleHTTPRequestHandler: BaseHTTPRequestHandler {
    /// How a handler is set up. The server makes one handler per connection; they share this.
    public struct Configuration: Sendable {
        /// The served folder (Python's `directory`).
        public var directory: String
        /// `protocol_version` (`-p`): HTTP/1.0 closes after each response, HTTP/1.1 keeps alive.
        public var protocolVersion = "HTTP/1.0"
        /// Extra headers on every final response (`--header`).
        public var extraHeaders: [(name: String, value: String)] = []
        /// The type for files the tables do not know (`--content-type`).
        public var defaultContentType = "application/octet-stream"
        /// `extensions_map`: overrides looked up before the MIME table.
        public var extensionsMap = MIMETypes.simpleHandlerExtensionsMap
        /// `index_pages`.
        public var indexPages = ["index.html", "index.htm"]

        /// Serves `directory`, with Python's defaults for the rest.
        public init(directory: String) { self.directory = directory }
    }

    /// `directory`: the served folder.
    public var directory: String
    /// `extensions_map`: extension (with its dot) → content type, consulted before the MIME table,
    /// first as written, then lowercased.
    open var extensionsMap: [String: String]
    /// `index_pages`: served for a directory when one exists as a regular file.
    open var indexPages: [String]
    /// The type for files of unknown type (Python always says `application/octet-stream`).
    open var defaultContentType: String
    /// Headers added to every final response, after the handler's own.
    open var extraHeaders: [(name: String, value: String)]
    private let configuredProtocolVersion: String

    /// Headers to add at the next `endHeaders()` (e.g. `Content-Range` on a 416 error page).
    private var pendingHeaders: [(name: String, value: String)] = []
    private var pendingStatus = 200

    /// Python's `server_version`.
    open override var serverVersion: String { "SimpleHTTP/0.6" }
    /// Python's `protocol_version`, from `Configuration.protocolVersion` (HTTP/1.0 unless configured).
    open override var protocolVersion: String { configuredProtocolVersion }

    /// A handler set up by `configuration`: the server makes one per connection.
    public init(configuration: Configuration) {
        directory = configuration.directory
        extensionsMap = configuration.extensionsMap
        indexPages = configuration.indexPages
        defaultContentType = configuration.defaultContentType
        extraHeaders = configuration.extraHeaders
        configuredProtocolVersion = configuration.protocolVersion
        super.init()
    }

    /// Serves `directory`, otherwise with Python's defaults.
    public convenience init(directory: String) {
        self.init(configuration: Configuration(directory: directory))
    }

    /// Serves the current directory (Python's default).
    public required convenience init() {
        self.init(directory: Self.currentDirectory())
    }

    package static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Methods

    /// Python's `do_GET()`: the head, then the body.
    open override func doGET() throws {
        if let body = sendHead() { copyFile(body) }
    }

    /// Python's `do_HEAD()`: the same head, no body (an open file is closed).
    open override func doHEAD() throws {
        _ = sendHead()
    }

    /// Python's `copyfile(source, outputfile)`: queues the body on `wfile`; file regions go out
    /// with `sendfile`, and the descriptor closes once they are sent or the client has gone.
    open func copyFile(_ body: Body) {
        body.write(to: wfile)
    }

    // MARK: Responses

    /// Python's `send_response_only(code, message)`. The status is remembered so that `endHeaders()`
    /// adds the pending and extra headers to final responses only, not to `100 Continue`.
    open override func sendResponseOnly(_ code: HTTPStatus, message: String? = nil) {
        pendingStatus = code.code
        super.sendResponseOnly(code, message: message)
    }

    /// Python's `end_headers()`, adding the pending and extra headers to every final response, error
    /// pages included.
    open override func endHeaders() {
        if pendingStatus >= 200 {
            for (name, value) in pendingHeaders { sendHeader(name, value) }
            for (name, value) in extraHeaders { sendHeader(name, value) }
            pendingHeaders.removeAll()
        }
        super.endHeaders()
    }

    /// Python's `address_string()`. An IPv4 client of the dual-stack socket `http-server` listens on
    /// by default is logged as `127.0.0.1`, not `::ffff:127.0.0.1`, as Python (bound to IPv4) logs it.
    open override func addressString() -> String {
        let host = super.addressString()
        if host.hasPrefix("::ffff:") && host.contains(".") { return String(host.dropFirst(7)) }
        return host
    }

    // MARK: Python's hooks

    /// Python's `translate_path(path)`: the file system path for a URL path, always inside
    /// `directory` (see `PathTranslation.translate`).
    open func translatePath(_ path: String) -> String {
        PathTranslation.translate(path, directory: directory)
    }

    /// Python's `guess_type(path)`: `extensionsMap`, then the built-in table (CPython 3.11's
    /// `mimetypes` defaults), then `defaultContentType`.
    open func guessType(_ path: String) -> String {
        MIMETypes.contentType(forPath: path, extensionsMap: extensionsMap, defaultType: defaultContentType)
    }

    /// Python's `list_directory(path)`: sends the head of the listing page and returns its body,
    /// or sends 404 `No permission to list directory` and returns nil.
    open func listDirectory(_ path: String) -> Body? {
        guard let listing = DirectoryListing(readingDirectory: path) else {
            sendError(404, message: "No permission to list directory")
            return nil
        }
        let page = listing.html(requestPath: self.path)
        sendResponse(200)
        sendHeader("Content-type", "text/html; charset=utf-8")
        sendHeader("Content-Length", String(page.count))
        endHeaders()
        return Body(bytes: page)
    }

    /// Python's `send_head()`: everything GET and HEAD share. Sends the status line and headers and
    /// returns the body to send, or nil when the response is complete (errors, redirects, 304).
    open func sendHead() -> Body? {
        pendingHeaders.removeAll()
        var path = translatePath(self.path)
        guard PathTranslation.verdict(forTranslated: path) != .badRequest else {
            sendError(400, message: "Bad request: NUL byte in path")
            return nil
        }
        // Opened first and asked with fstat whether it is a directory: open, fstat (nginx's two
        // calls) rather than Python's stat, open, fstat. O_NONBLOCK: opening a FIFO must not block
        // the reactor (it is refused below). A directory that cannot be opened (no read permission)
        // is still told apart by stat, so that it is answered as Python answers it.
        var fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        var st = stat()
        let isDirectory: Bool
        if fd >= 0 {
            guard fstat(fd, &st) == 0 else {
                close(fd)
                sendError(404, message: "File not found")
                return nil
            }
            isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            if isDirectory {
                close(fd)
                fd = -1
            }
        } else {
            isDirectory = Self.fileType(path, followLinks: true) == S_IFDIR
        }
        if isDirectory {
            switch PathTranslation.directoryRedirect(for: self.path) {
            case .redirect(let location):
                sendResponse(301)
                sendHeader("Location", location)
                sendHeader("Content-Length", "0")
                endHeaders()
                return nil
            case .refused:
                sendError(404, message: "File not found")
                return nil
            case .none:
                let base = path.hasSuffix("/") ? path : path + "/"
                // Python's isfile test for each index page, made on the opened file itself; one that
                // is a file but cannot be opened is still chosen (and answered 404, as Python does).
                var index: String?
                for name in indexPages {
                    let candidate = open(base + name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
                    if candidate >= 0 {
                        if fstat(candidate, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
                            fd = candidate
                            index = name
                            break
                        }
                        close(candidate)
                    } else if Self.fileType(base + name, followLinks: true) == S_IFREG {
                        index = name
                        break
                    }
                }
                guard let index else { return listDirectory(path) }
                path = base + index
            }
        }
        let contentType = guessType(path)
        // Issue17324: a trailing slash on a file is 404, whatever the OS would make of it.
        if path.hasSuffix("/") {
            if fd >= 0 { close(fd) }
            sendError(404, message: "File not found")
            return nil
        }
        guard fd >= 0 else {
            sendError(404, message: "File not found")
            return nil
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            sendError(404, message: "File not found")
            return nil
        }
        let file = Body(fd: fd)
        let size = Int(st.st_size)
        let modified = Int64(st.st_mtim.tv_sec)
        let now = epochSeconds()
        let tag = ETag(size: size, modifiedSeconds: modified, modifiedNanoseconds: Int(st.st_mtim.tv_nsec), now: now)
        let lastModified = dateTimeString(timestamp: modified)

        if isNotModified(tag: tag, modified: modified) {
            sendResponse(304)
            sendHeader("ETag", tag.headerValue)
            endHeaders()
            return nil
        }

        var outcome = RangeRequest.Outcome.full
        if command == "GET", let range = header("Range"), rangeIsCurrent(tag: tag, modified: modified) {
            outcome = RangeRequest.evaluate(range, length: size)
        }
        switch outcome {
        case .full:
            sendResponse(200)
            sendHeader("Content-type", contentType)
            sendHeader("Content-Length", String(size))
            sendHeader("Last-Modified", lastModified)
            sendValidators(tag)
            endHeaders()
            file.parts = [.file(0..<size)]
        case .unsatisfiable:
            pendingHeaders = [("Content-Range", "bytes */\(size)")]
            sendError(416)
            return nil
        case .partial(let ranges) where ranges.count == 1:
            sendResponse(206)
            sendHeader("Content-type", contentType)
            sendHeader("Content-Range", RangeRequest.contentRange(ranges[0], length: size))
            sendHeader("Content-Length", String(ranges[0].count))
            sendHeader("Last-Modified", lastModified)
            sendValidators(tag)
            endHeaders()
            file.parts = [.file(ranges[0])]
        case .partial(let ranges):
            let multipart = RangeRequest.Multipart(ranges: ranges, length: size, contentType: contentType,
                                                   boundary: RangeRequest.Multipart.makeBoundary())
            sendResponse(206)
            sendHeader("Content-type", multipart.contentType)
            sendHeader("Content-Length", String(multipart.contentLength))
            sendHeader("Last-Modified", lastModified)
            sendValidators(tag)
            endHeaders()
            file.parts = multipart.parts.flatMap { [Body.Part.bytes($0.head), .file($0.range)] } + [.bytes(multipart.closing)]
        }
        return file
    }

    private func sendValidators(_ tag: ETag) {
        sendHeader("Accept-Ranges", "bytes")
        sendHeader("ETag", tag.headerValue)
    }

    /// RFC 9110 §13.2.2 order: `If-None-Match` (weak comparison) decides when present; otherwise
    /// Python's `If-Modified-Since` rule: a date without a zone or in UTC, not before the file's
    /// modification second, is 304; a malformed date or another zone is ignored.
    private func isNotModified(tag: ETag, modified: Int64) -> Bool {
        if let condition = header("If-None-Match") {
            return ETag.ifNoneMatchFails(condition, current: tag)
        }
        guard let since = header("If-Modified-Since"), let date = PythonDateParser.parse(since),
              date.utcOffset == nil || date.utcOffset == 0 else { return false }
        return modified <= date.epochSeconds
    }

    /// `If-Range` (RFC 9110 §13.1.5): the range applies only if the validator is current: a strong
    /// tag that matches, or the exact `Last-Modified` date of a file whose tag is strong.
    private func rangeIsCurrent(tag: ETag, modified: Int64) -> Bool {
        guard let condition = header("If-Range") else { return true }
        let trimmed = condition.drop { $0 == " " || $0 == "\t" }
        if trimmed.hasPrefix("\"") || trimmed.hasPrefix("W/") {
            guard let (tags, wildcard) = ETag.parseList(String(trimmed)), !wildcard, tags.count == 1 else { return false }
            return tags[0].stronglyMatches(tag)
        }
        guard let date = PythonDateParser.parse(condition), date.utcOffset == 0 || date.utcOffset == nil else { return false }
        return !tag.isWeak && date.epochSeconds == modified
    }

    /// `stat`'s file type bits (`S_IFDIR`, `S_IFREG`…), or nil when the path does not resolve.
    package static func fileType(_ path: String, followLinks: Bool) -> mode_t? {
        var st = stat()
        let result = followLinks ? stat(path, &st) : lstat(path, &st)
        return result == 0 ? st.st_mode & S_IFMT : nil
    }
}
