import HTTPServerCore
import HTTPServerStaticFiles

/// The environment of a CGI script, built as Python's `run_cgi` builds it (RFC 3875 §4.1).
///
/// Python starts from a copy of the server's whole environment and sets the request's
/// meta-variables over it; so does this (`CGIConfiguration.inheritedEnvironment` narrows what is
/// inherited). One difference: a meta-variable that Python sets only when the request has it
/// (`AUTH_TYPE`, `REMOTE_USER`) or never sets (`REMOTE_IDENT`, other `HTTP_*` fields) is inherited
/// by Python's scripts when the server's environment happens to hold it — a script would then take
/// the server's `REMOTE_USER=admin` for an authenticated user. Here no inherited variable may carry
/// a meta-variable's name: the request alone sets those.
public struct CGIEnvironment: Sendable {
    /// What the request and the server say, in Python's terms.
    public struct Request: Sendable {
        /// `version_string()`.
        public var serverSoftware: String
        /// `server.server_name`.
        public var serverName: String
        /// `protocol_version` (the server's, not the request's: Python's choice).
        public var serverProtocol: String
        /// `server.server_port` (`SERVER_PORT`).
        public var serverPort: Int
        /// `command`.
        public var method: String
        /// `PATH_INFO`: the part after the script, percent-decoded.
        public var pathInfo: String
        /// `PATH_TRANSLATED`: `translate_path(PATH_INFO)`.
        public var pathTranslated: String
        /// `SCRIPT_NAME`: the script's URL path (`/cgi-bin/x.py`).
        public var scriptName: String
        /// `QUERY_STRING`: as received (not decoded).
        public var query: String
        /// `client_address[0]`.
        public var remoteAddress: String
        /// `self.headers`: the request's header fields (`CONTENT_TYPE`, `HTTP_*`, ...).
        public var headers: HTTPHeaders

        /// A request described field by field.
        public init(serverSoftware: String, serverName: String, serverProtocol: String, serverPort: Int,
                    method: String, pathInfo: String, pathTranslated: String, scriptName: String,
                    query: String, remoteAddress: String, headers: HTTPHeaders) {
            self.serverSoftware = serverSoftware
            self.serverName = serverName
            self.serverProtocol = serverProtocol
            self.serverPort = serverPort
            self.method = method
            self.pathInfo = pathInfo
            self.pathTranslated = pathTranslated
            self.scriptName = scriptName
            self.query = query
            self.remoteAddress = remoteAddress
            self.headers = headers
        }
    }

    /// The variables in the order they were set (inherited ones first), each name once.
    public private(set) var variables: [(name: String, value: String)] = []

    /// The meta-variables of RFC 3875 §4.1 (and `REMOTE_IDENT`'s like): never inherited.
    static let metaVariables: Set<String> = [
        "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "PATH_TRANSLATED",
        "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
    ]

    /// Whether an inherited variable named `name` is kept (`only`: nil for every name).
    static func inherits(_ name: String, only: [String]?) -> Bool {
        if metaVariables.contains(name) || name.hasPrefix("HTTP_") { return false }
        return only?.contains(name) ?? true
    }

    /// Builds the environment for `request` over `inherited` (`NAME=value` strings, the server's
    /// environment), keeping only the names `only` lists when it is not nil.
    public init(request: Request, inherited: [String], only: [String]? = nil) {
        var index: [String: Int] = [:]
        func set(_ name: String, _ value: String) {
            if let at = index[name] {
                variables[at].value = value
            } else {
                index[name] = variables.count
                variables.append((name, value))
            }
        }
        for entry in inherited {
            guard let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(entry[..<equals])
            guard !name.isEmpty, Self.inherits(name, only: only) else { continue }
            set(name, String(entry[entry.utf8.index(after: equals)...]))
        }
        let headers = request.headers
        set("SERVER_SOFTWARE", request.serverSoftware)
        set("SERVER_NAME", request.serverName)
        set("GATEWAY_INTERFACE", "CGI/1.1")
        set("SERVER_PROTOCOL", request.serverProtocol)
        set("SERVER_PORT", String(request.serverPort))
        set("REQUEST_METHOD", request.method)
        set("PATH_INFO", request.pathInfo)
        set("PATH_TRANSLATED", request.pathTranslated)
        set("SCRIPT_NAME", request.scriptName)
        set("QUERY_STRING", request.query)
        set("REMOTE_ADDR", request.remoteAddress)
        if let authorization = headers["authorization"], !authorization.isEmpty {
            let words = Self.splitWhitespace(authorization)
            if words.count == 2 {
                set("AUTH_TYPE", words[0])
                if words[0].lowercased() == "basic", let user = Self.basicUser(words[1]) {
                    set("REMOTE_USER", user)
                }
            }
        }
        // Python: the header as sent, or `get_content_type()`'s default when there is none.
        set("CONTENT_TYPE", headers["content-type"] ?? "text/plain")
        if let length = headers["content-length"], !length.isEmpty { set("CONTENT_LENGTH", length) }
        if let referer = headers["referer"], !referer.isEmpty { set("HTTP_REFERER", referer) }
        set("HTTP_ACCEPT", headers.values(for: "accept").joined(separator: ","))
        if let agent = headers["user-agent"], !agent.isEmpty { set("HTTP_USER_AGENT", agent) }
        let cookies = headers.values(for: "cookie").filter { !$0.isEmpty }.joined(separator: ", ")
        if !cookies.isEmpty { set("HTTP_COOKIE", cookies) }
        // "Since we're setting the env in the parent, provide empty values to override
        // previously set values" (Python's words).
        for name in ["QUERY_STRING", "REMOTE_HOST", "CONTENT_LENGTH", "HTTP_USER_AGENT", "HTTP_COOKIE", "HTTP_REFERER"]
        where index[name] == nil {
            set(name, "")
        }
    }

    /// The value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        variables.first { $0.name == name }?.value
    }

    /// `NAME=value` strings for `execve`.
    public var entries: [String] { variables.map { "\($0.name)=\($0.value)" } }

    /// True when a name or value holds a NUL byte, which no environment can carry.
    var hasNUL: Bool {
        variables.contains { $0.name.utf8.contains(0) || $0.value.utf8.contains(0) }
    }

    /// Python's `str.split()`: runs of Unicode whitespace separate words.
    static func splitWhitespace(_ text: String) -> [String] {
        var words: [String] = []
        var word = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if PythonCodePoints.isSpace(scalar.value) {
                if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() }
            } else {
                word.append(scalar)
            }
        }
        if !word.isEmpty { words.append(String(word)) }
        return words
    }

    /// The user of Basic credentials as Python finds it: the token must be ASCII, decode as
    /// `base64.decodebytes` does (characters outside the alphabet skipped, padding checked), the
    /// result must be ASCII and hold exactly one `:`. nil otherwise.
    static func basicUser(_ token: String) -> String? {
        guard token.unicodeScalars.allSatisfy(\.isASCII), let decoded = decodeBase64(Array(token.utf8)),
              decoded.allSatisfy({ $0 < 0x80 }) else { return nil }
        let parts = decoded.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return String(decoding: parts[0], as: UTF8.self)
    }

    /// `binascii.a2b_base64` in its default (non-strict) mode, CPython 3.11.
    static func decodeBase64(_ input: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var quadPosition = 0
        var leftover: UInt32 = 0
        var pads = 0
        for byte in input {
            if byte == UInt8(ascii: "=") {
                if quadPosition >= 2 {
                    pads += 1
                    if quadPosition + pads >= 4 { return out }   // a full pad: stop here
                }
                continue
            }
            guard let value = base64Value(byte) else { continue }   // not in the alphabet: skipped
            pads = 0
            switch quadPosition {
            case 0:
                leftover = value
                quadPosition = 1
            case 1:
                out.append(UInt8(truncatingIfNeeded: leftover << 2 | value >> 4))
                leftover = value & 0x0F
                quadPosition = 2
            case 2:
                out.append(UInt8(truncatingIfNeeded: leftover << 4 | value >> 2))
                leftover = value & 0x03
                quadPosition = 3
            default:
                out.append(UInt8(truncatingIfNeeded: leftover << 6 | value))
                leftover = 0
                quadPosition = 0
            }
        }
        return quadPosition == 0 ? out : nil   // "Incorrect padding" and friends
    }

    private static func base64Value(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(byte - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
