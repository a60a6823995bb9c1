import HTTPServerCore
import HTTPServerStaticFiles

/// How a `CGIHTTPRequestHandler` runs scripts. The defaults are Python's behaviour, made safe for a
/// server that runs many scripts at once on one thread.
public struct CGIConfiguration: Sendable {
    /// What the client receives of a script's output.
    public enum ScriptOutput: Sendable, Equatable {
        /// Python's: `200 Script output follows` with `Server` and `Date` goes out before the script
        /// runs, then the script's output byte for byte (its own header lines, the blank line, the
        /// body). The script cannot choose the status. The output has no length, so the connection
        /// closes after it (Python leaves an HTTP/1.1 client waiting forever).
        case passedThrough
        /// RFC 3875 §6: the server reads the script's header lines and makes the response from
        /// them. `Status: 404 Not Found` sets the status; `Location:` without `Status:` is a
        /// `302` redirect; other fields are sent as given (`Connection`, `Keep-Alive` and
        /// `Transfer-Encoding` excepted: framing is the server's). Without a `Content-Length` the
        /// body is sent chunked to HTTP/1.1 clients, so the connection stays open; HEAD gets the
        /// head only. Output that is not a valid header section gets `500`.
        case parsed
    }

    /// `cgi_directories`: URL paths whose files are scripts.
    public var cgiDirectories = ["/cgi-bin", "/htbin"]
    /// Python's output (the default) or parsed CGI responses.
    public var scriptOutput = ScriptOutput.passedThrough
    /// Longest a script may run. Then it is killed (with everything it started in its process
    /// group) and the connection is closed. nil: no limit (Python has none).
    public var timeout: Duration? = .seconds(300)
    /// Which variables of the server's own environment a script inherits: nil, every one (Python's
    /// `copy.deepcopy(os.environ)`), or only those named. Names that are CGI meta-variables
    /// (RFC 3875 §4.1: `AUTH_TYPE`, `REMOTE_USER`, `HTTP_*`...) are never inherited, whatever
    /// this says: they describe the request, and only the request may set them.
    public var inheritedEnvironment: [String]? = nil
    /// The user scripts run as when the server runs as root (Python: `nobody`). Scripts run as the
    /// server's user otherwise.
    public var unprivilegedUser = "nobody"
    /// The interpreter for `.py` and `.pyw` scripts, looked up in `PATH`; a script runs directly
    /// (by its `#!` line) when there is none there.
    public var pythonInterpreter = "python3"
    /// Kill the script when the client closes its side of the connection before the script has
    /// finished (see `BaseHTTPRequestHandler.whenClientCloses`). A client that half-closes after its
    /// request and still reads then gets nothing; turn this off to serve such clients (the script
    /// is still killed if the connection fails or is closed).
    public var killsScriptWhenClientCloses = true
    /// Output queued for the client above which the script's standard output is no longer read
    /// (the script blocks on a full pipe) until the client has taken it.
    public var outputBufferLimit = 128 * 1024

    /// Python's defaults: `/cgi-bin` and `/htbin`.
    public init() {}
}
