import Glibc
import HTTPServerHTTP1
import HTTPServerReactor
import HTTPServerCore
import HTTPServerStaticFiles

/// Serves files as `SimpleHTTPRequestHandler` does, and runs CGI scripts from `cgiDirectories`.
/// Equivalent to Python's `http.server.CGIHTTPRequestHandler` (CPython 3.11), on the reactor:
/// Python blocks its thread until a script ends; here a script is a child process whose pipes are
/// on the loop, so a hundred slow scripts run at once while everything else is still served.
///
/// ```swift
/// let server = try HTTPServer(("", 8000)) { CGIHTTPRequestHandler(directory: "/srv/www") }
/// try server.serveForever()
/// ```
///
/// As in Python: GET, HEAD and POST run a script (`/cgi-bin/x.sh/extra?q` runs `cgi-bin/x.sh`
/// with `PATH_INFO=/extra` and `QUERY_STRING=q`); POST anywhere else is 501; a missing script
/// 404; one that is not a regular file or not executable 403; `200 Script output follows` goes
/// out before the script runs and its output follows as is; `.py` scripts run with `python3`;
/// a server running as root runs scripts as `nobody`. What differs is listed in docs/cgi.md:
/// the connection closes after the output (Python leaves an HTTP/1.1 client hanging), a script
/// is killed when it runs too long or the client leaves, a path with too many `..` gets 400
/// (Python drops the connection), a double-encoded path cannot run a file outside the CGI
/// directory, and `CGIConfiguration.scriptOutput = .parsed` gives scripts `Status:` and
/// `Location:`.
open class CGIHTTPRequestHandler: SimpleHTTPRequestHandler {
    /// How scripts run: output mode, timeout, environment, user.
    public let cgiConfiguration: CGIConfiguration

    /// `cgi_directories`: URL paths whose files are scripts (`/cgi-bin`, `/htbin`).
    open var cgiDirectories: [String] { cgiConfiguration.cgiDirectories }

    /// `cgi_info`: set by `isCGI()` to the CGI directory matched and the rest of the path after it
    /// (a subclass that overrides `isCGI()` sets it, as in Python); `runCGI()` starts from it.
    public var cgiInfo: (directory: String, rest: String)?

    /// The script of the current request while it runs.
    var script: CGIScript?
    private var cachedScriptUser: ChildProcess.User??

    /// A handler serving files as `SimpleHTTPRequestHandler` with `configuration`, and scripts as
    /// `cgi` says (Python's `CGIHTTPRequestHandler(..., directory=...)`).
    public init(configuration: SimpleHTTPRequestHandler.Configuration, cgi: CGIConfiguration = CGIConfiguration()) {
        cgiConfiguration = cgi
        super.init(configuration: configuration)
    }

    /// Serves `directory`, otherwise with Python's defaults.
    public convenience init(directory: String, cgi: CGIConfiguration = CGIConfiguration()) {
        self.init(configuration: SimpleHTTPRequestHandler.Configuration(directory: directory), cgi: cgi)
    }

    /// Serves the current directory (Python's default).
    public required convenience init() {
        self.init(directory: Self.currentDirectory())
    }

    // MARK: Methods

    /// Python's `do_POST()`: runs a script; anything else is 501 `Can only POST to CGI scripts`.
    open override func doPOST() throws {
        do {
            if try isCGI() {
                runCGI()
            } else {
                sendError(501, message: "Can only POST to CGI scripts")
            }
        } catch {
            sendInvalidPathError()
        }
    }

    /// Python's `send_head()`: a script for a CGI path, a file otherwise.
    open override func sendHead() -> Body? {
        do {
            if try isCGI() {
                runCGI()
                return nil
            }
        } catch {
            sendInvalidPathError()
            return nil
        }
        return super.sendHead()
    }

    /// Python's `is_cgi` raises, and its server drops the connection without an answer.
    private func sendInvalidPathError() {
        sendError(400, message: "Bad request: the path climbs above the root ('..')")
    }

    /// A script gets the request body as it arrives (through its standard input, with
    /// backpressure), so a large upload is never held in memory. POST elsewhere is streamed too,
    /// so that its 501 goes out at once.
    open override func wantsStreamingBody() -> Bool {
        if command == "POST" { return true }
        return (try? isCGI()) ?? false
    }

    /// Python's `finish()`: the connection has closed, and a script still running is killed.
    open override func finish() {
        script?.abort("CGI script killed: the connection closed before it finished", closingConnection: false)
        super.finish()
    }

    // MARK: Python's hooks

    /// Python's `is_cgi()`: whether `path`, collapsed (`CGIPath.collapse`), is inside one of
    /// `cgiDirectories`; sets `cgiInfo` when it is. Throws `CGIPath.InvalidPath` where Python
    /// raises (too many `..`).
    open func isCGI() throws -> Bool {
        cgiInfo = nil
        let path = self.path
        guard let collapsed = CGIPath.collapse(path) else { throw CGIPath.InvalidPath(path: path) }
        guard let info = CGIPath.split(collapsed: collapsed, directories: cgiDirectories) else { return false }
        cgiInfo = info
        return true
    }

    /// Python's `is_executable(path)`: `os.access(path, X_OK)`.
    open func isExecutable(_ path: String) -> Bool {
        !path.utf8.contains(0) && access(path, X_OK) == 0
    }

    /// Python's `is_python(path)`: a `.py` or `.pyw` name (any case).
    open func isPython(_ path: String) -> Bool {
        CGIPath.isPythonScript(path)
    }

    /// Python's `run_cgi()`: finds the script for `cgiInfo`, checks it, builds its environment,
    /// starts it, and answers from its output. The response is deferred: it ends when the script
    /// has exited and its output has been sent.
    open func runCGI() {
        guard let info = cgiInfo else {
            sendError(500, message: "runCGI() called without a successful isCGI()")
            return
        }
        let located = CGIPath.locateScript(directory: info.directory, rest: info.rest) { directory in
            let translated = translatePath(directory)
            return !translated.utf8.contains(0) && Self.fileType(translated, followLinks: true) == S_IFDIR
        }
        let scriptName = located.scriptName
        let scriptFile = translatePath(scriptName)
        guard PathTranslation.verdict(forTranslated: scriptFile) != .badRequest else {
            sendError(400, message: "Bad request: NUL byte in path")
            return
        }
        // Beyond Python: `translatePath` decodes the already decoded path again, so in Python
        // `/cgi-bin/%252e%252e/x` runs `x` from the folder *above* cgi-bin. The script must be
        // inside the CGI directory that was matched.
        guard Self.isInside(scriptFile, directory: translatePath(info.directory)) else {
            sendError(404, message: "No such CGI script (\(PythonText.repr(scriptName)))")
            return
        }
        switch Self.fileType(scriptFile, followLinks: true) {
        case nil:
            sendError(404, message: "No such CGI script (\(PythonText.repr(scriptName)))")
            return
        case S_IFREG?:
            break
        default:
            sendError(403, message: "CGI script is not a plain file (\(PythonText.repr(scriptName)))")
            return
        }
        guard isExecutable(scriptFile) else {
            sendError(403, message: "CGI script is not executable (\(PythonText.repr(scriptName)))")
            return
        }
        let pathInfo = CGIPath.unquote(located.pathInfo)
        let environment = CGIEnvironment(
            request: CGIEnvironment.Request(
                serverSoftware: versionString(), serverName: server.serverName, serverProtocol: protocolVersion,
                serverPort: server.serverPort, method: command, pathInfo: pathInfo,
                pathTranslated: translatePath(pathInfo), scriptName: scriptName, query: located.query,
                remoteAddress: remoteAddress, headers: headers),
            inherited: Self.processEnvironment(), only: cgiConfiguration.inheritedEnvironment)
        var options = commandLine(scriptName: scriptName, scriptFile: scriptFile, query: located.query,
                                  environment: environment.entries)
        guard !environment.hasNUL, !options.arguments.contains(where: { $0.utf8.contains(0) }) else {
            sendError(400, message: "Bad request: NUL byte in a CGI variable")
            return
        }
        // The loop of this connection's reactor (with `reactors` > 1, not necessarily `server.loop`).
        guard let loop = connectionLoop else {
            sendError(500, message: "CGI scripts need a server with an event loop")
            return
        }
        if ChildProcess.isRunningAsRoot {
            guard let user = scriptUser() else {
                sendError(500, message: "No user to run CGI scripts as")
                return
            }
            options.user = user
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(options, on: loop)
        } catch {
            if error.errno == EACCES {
                sendError(403, message: "CGI script is not executable (\(PythonText.repr(scriptName)))")
            } else {
                logError("CGI script \(PythonText.repr(scriptName)) could not be started: \(error)")
                sendError(500, message: "CGI script could not be started (\(SystemError.message(for: error.errno)))")
            }
            return
        }
        let script = CGIScript(handler: self, child: child, loop: loop, configuration: cgiConfiguration)
        self.script = script
        if cgiConfiguration.scriptOutput == .passedThrough { sendScriptOutputFollows() }
        deferResponse()
        if cgiConfiguration.killsScriptWhenClientCloses {
            whenClientCloses { [weak self] in
                self?.script?.abort("CGI script killed: the client closed the connection", closingConnection: true)
            }
        }
        script.start()
    }

    // MARK: Running a script

    /// The program and arguments, as Python's fork branch makes them: `argv[0]` is the script's
    /// name, then the query (with `+` as a space) when it has no `=`. A Python script runs under
    /// the interpreter (`python3 -u script [query]`, found in `PATH`) when there is one.
    func commandLine(scriptName: String, scriptFile: String, query: String, environment: [String]) -> ChildProcess.Options {
        let extra = CGIPath.commandLineArgument(query: query).map { [$0] } ?? []
        let interpreter = cgiConfiguration.pythonInterpreter
        if isPython(scriptName), Self.isOnPath(interpreter) {
            var options = ChildProcess.Options(executable: interpreter, arguments: [interpreter, "-u", scriptFile] + extra,
                                               environment: environment)
            options.searchesPath = !interpreter.contains("/")
            return options
        }
        let name = scriptName.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? scriptName
        return ChildProcess.Options(executable: scriptFile, arguments: [name] + extra, environment: environment)
    }

    /// `200 Script output follows` with `Server` and `Date`, before the script runs: Python's
    /// head, left open for the script's own header lines. Nothing for HTTP/0.9.
    private func sendScriptOutputFollows() {
        logRequest(200)
        // The output frames nothing: the connection ends with it.
        closeConnection = true
        guard !isHTTP09 else { return }
        var head = "\(protocolVersion) 200 Script output follows\r\nServer: \(versionString())\r\nDate: \(dateTimeString())\r\n"
        for (name, value) in extraHeaders where !(name + value).utf8.contains(where: { $0 == 10 || $0 == 13 }) {
            head += "\(name): \(value)\r\n"
        }
        wfile.write(head)
        wfile.flush()
    }

    /// Parsed output: the response head from the script's header section. Returns whether the
    /// body is sent chunked (no `Content-Length`, a body, and an HTTP/1.1 client kept alive).
    func sendScriptHead(_ head: CGIHeaderParser.Head) -> Bool {
        logRequest(HTTPStatus(head.status))
        sendResponseOnly(HTTPStatus(head.status), message: head.reason)
        let names = Set(head.fields.map { $0.name.lowercasedASCII() })
        if !names.contains("server") { sendHeader("Server", versionString()) }
        if !names.contains("date") { sendHeader("Date", dateTimeString()) }
        for field in head.fields { sendHeader(field.name, field.value) }
        let hasBody = !isHEADRequest && head.status != 204 && head.status != 304
        // Chunked framing needs an HTTP/1.1 (or later 1.x) client; an HTTP/1.0 client that asked
        // for keep-alive gets the body unframed and the connection closes after it.
        let understandsChunked = requestVersion.hasPrefix("HTTP/1.") && requestVersion != "HTTP/1.0"
        let chunked = hasBody && !head.hasContentLength && !closeConnection && understandsChunked
        if chunked { sendHeader("Transfer-Encoding", "chunked") }
        endHeaders()
        return chunked
    }

    /// Parsed output that is not a valid response: 500 (nothing has been sent yet).
    func scriptResponseFailed(_ reason: String) {
        logError("CGI script output is not a valid response: \(reason)")
        sendError(500, message: "CGI script output is not a valid response")
    }

    /// The script has ended: its response is complete, or (aborted) the connection closes.
    func scriptEnded(_ ended: CGIScript, closingConnection: Bool = false) {
        guard script === ended else { return }
        script = nil
        if closingConnection {
            abortConnection()
        } else if isConnected {
            finishResponse()
        }
    }

    /// Python's `REMOTE_ADDR`, `client_address[0]`; an IPv4 client of the dual-stack socket as
    /// plain IPv4, as Python (bound to IPv4) reports it.
    private var remoteAddress: String {
        let host = clientAddress.host
        if host.hasPrefix("::ffff:") && host.contains(".") { return String(host.dropFirst(7)) }
        return host
    }

    /// `unprivilegedUser` from the password database; Python's fallback when there is no such user:
    /// one more than the largest uid (and a group of the same number, so that no root group stays).
    private func scriptUser() -> ChildProcess.User? {
        if let cached = cachedScriptUser { return cached }
        var user = ChildProcess.user(named: cgiConfiguration.unprivilegedUser)
        if user == nil {
            var largest: UInt32 = 0
            setpwent()
            while let entry = getpwent() { largest = max(largest, entry.pointee.pw_uid) }
            endpwent()
            if largest < UInt32.max - 1 { user = ChildProcess.User(uid: largest + 1, gid: largest + 1) }
        }
        cachedScriptUser = .some(user)
        return user
    }

    /// `path` is `directory` itself or below it (compared byte for byte).
    static func isInside(_ path: String, directory: String) -> Bool {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return path.utf8.starts(with: prefix.utf8)
    }

    /// Whether `name` is an executable file in one of `PATH`'s folders (or, with a slash, itself).
    static func isOnPath(_ name: String) -> Bool {
        if name.contains("/") { return access(name, X_OK) == 0 }
        guard let raw = getenv("PATH") else { return false }
        for folder in String(cString: raw).split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = folder.isEmpty ? name : "\(folder)/\(name)"
            if access(candidate, X_OK) == 0, fileType(candidate, followLinks: true) == S_IFREG { return true }
        }
        return false
    }

    /// The server's environment now, as `NAME=value` strings (Python's `os.environ`).
    static func processEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }
}
