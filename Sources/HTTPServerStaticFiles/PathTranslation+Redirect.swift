import HTTPServerCore

/// The trailing-slash redirect for directories, as `SimpleHTTPRequestHandler.send_head` builds it
/// with `urlsplit`/`urlunsplit`, minus the open redirect.
extension PathTranslation {
    /// `urllib.parse.urlsplit`'s five parts.
    public struct URLParts: Equatable, Sendable {
        /// The fields of Python's `SplitResult`, by name; each is "" when the URL has no such part.
        public var scheme = "", netloc = "", path = "", query = "", fragment = ""

        /// `urlsplit(url)` (CPython 3.11.7). nil where Python raises ("Invalid IPv6 URL").
        public init?(splitting url: String) {
            var cps = PythonCodePoints.codePoints(url)
            // WHATWG: leading C0 controls and spaces go, and so do tabs and newlines anywhere.
            while let first = cps.first, first <= 0x20 { cps.removeFirst() }
            cps.removeAll { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            var rest = cps[...]
            if let colon = rest.firstIndex(of: 0x3A), colon > 0, Self.isASCIILetter(rest[0]),
               rest[..<colon].allSatisfy(Self.isSchemeCharacter) {
                scheme = PythonCodePoints.string(rest[..<colon]).lowercased()
                rest = rest[(colon + 1)...]
            }
            if rest.starts(with: [0x2F, 0x2F]) {
                let start = rest.startIndex + 2
                let delimiter = rest[start...].firstIndex { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 } ?? rest.endIndex
                netloc = PythonCodePoints.string(rest[start..<delimiter])
                rest = rest[delimiter...]
                if netloc.contains("[") != netloc.contains("]") { return nil }
            }
            if let hash = rest.firstIndex(of: 0x23) {
                fragment = PythonCodePoints.string(rest[(hash + 1)...])
                rest = rest[..<hash]
            }
            if let question = rest.firstIndex(of: 0x3F) {
                query = PythonCodePoints.string(rest[(question + 1)...])
                rest = rest[..<question]
            }
            path = PythonCodePoints.string(rest)
        }

        /// `urlunsplit(parts)`.
        public var joined: String {
            var url = path
            if !netloc.isEmpty || (!scheme.isEmpty && Self.usesNetloc.contains(scheme) && !url.hasPrefix("//")) {
                if !url.isEmpty && !url.hasPrefix("/") { url = "/" + url }
                url = "//" + netloc + url
            }
            if !scheme.isEmpty { url = scheme + ":" + url }
            if !query.isEmpty { url += "?" + query }
            if !fragment.isEmpty { url += "#" + fragment }
            return url
        }

        static let usesNetloc: Set<String> = [
            "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https",
            "shttp", "snews", "prospero", "rtsp", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs",
            "git", "git+ssh", "ws", "wss",
        ]

        private static func isASCIILetter(_ c: UInt32) -> Bool { (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
        private static func isSchemeCharacter(_ c: UInt32) -> Bool {
            isASCIILetter(c) || (0x30...0x39).contains(c) || c == 0x2B || c == 0x2D || c == 0x2E
        }
    }

    /// What a request for a directory gets.
    public enum DirectoryRedirect: Equatable, Sendable {
        /// The URL path ends with `/`: serve the index page or the listing.
        case none
        /// 301 to this `Location` (the path plus `/`, query and fragment kept).
        case redirect(String)
        /// The redirect would leave this server: a `Location` starting `//host` or `/\host` is a
        /// network-path reference to browsers (CVE-2021-28861; the backslash variant is still open in
        /// 3.11, and the `//` one is only closed by the base handler collapsing leading slashes). We
        /// answer 404.
        case refused
    }

    /// Whether a request for a directory must be redirected to add the trailing slash.
    public static func directoryRedirect(for requestPath: String) -> DirectoryRedirect {
        guard var parts = URLParts(splitting: requestPath) else { return .refused }
        if parts.path.hasSuffix("/") { return .none }
        parts.path += "/"
        let location = parts.joined
        if parts.scheme.isEmpty {
            let head = location.unicodeScalars.prefix(2)
            if head.count == 2 && head.allSatisfy({ $0 == "/" || $0 == "\\" }) { return .refused }
        }
        return .redirect(location)
    }
}
