import HTTPServerCore
import HTTPServerStaticFiles

/// The URL path decisions of Python's `CGIHTTPRequestHandler`: `_url_collapse_path` and the
/// splitting that `is_cgi` and `run_cgi` do with it, on code points (Python's `str`), so that the
/// answers are CPython 3.11's exactly — the table in `CGIPathCollapseTests.swift` was produced by it.
///
/// `_url_collapse_path` is what keeps `/cgi-bin/../cgi-bin/x`, `//cgi-bin/x` and `/cgi-bin/./x`
/// recognised as the script they name, and `/cgi-bin/..%2f..%2fbin/sh` (the shapes of
/// CVE-2011-1015) from naming anything outside a CGI directory: the path is percent-decoded before
/// it is split, and `..` is resolved against what precedes it.
public enum CGIPath {
    /// Python's `http.server._url_collapse_path(path)`: the query is split off (and kept verbatim),
    /// the rest percent-decoded (UTF-8, `errors='replace'`), empty and `.` segments dropped and
    /// `..` resolved; the result always starts with `/`. nil where Python raises `IndexError`:
    /// more `..` than segments before them (`/..`, `/a/../../x`).
    public static func collapse(_ path: String) -> String? {
        collapse(PythonCodePoints.codePoints(path)).map { PythonCodePoints.string($0) }
    }

    /// What `isCGI()` throws where Python's `is_cgi` raises: a path with more `..` segments than
    /// segments before them. Python drops the connection; the handler answers 400.
    public struct InvalidPath: Error, Equatable, Sendable {
        /// The path that could not be collapsed.
        public var path: String
    }

    /// `urllib.parse.unquote(s)`: percent-decoded as UTF-8 with `errors='replace'` (`PATH_INFO`).
    public static func unquote(_ s: String) -> String {
        let cps = PythonCodePoints.codePoints(s)
        guard cps.contains(0x25) else { return s }
        return PythonCodePoints.string(PathTranslation.unquote(cps, errors: .replace) ?? cps)
    }

    static let slash: UInt32 = 0x2F
    static let dot: UInt32 = 0x2E
    static let question: UInt32 = 0x3F

    static func collapse(_ path: [UInt32]) -> [UInt32]? {
        // path, _, query = path.partition('?')
        var pathPart = path[...]
        var query: ArraySlice<UInt32> = []
        if let mark = path.firstIndex(of: question) {
            pathPart = path[..<mark]
            query = path[(mark + 1)...]
        }
        let decoded = PathTranslation.unquote(Array(pathPart), errors: .replace) ?? Array(pathPart)
        // path_parts = path.split('/'): every segment, empty ones included.
        var parts = decoded.split(separator: slash, omittingEmptySubsequences: false)
        var head: [ArraySlice<UInt32>] = []
        for part in parts.dropLast() {
            if isDotDot(part) {
                guard !head.isEmpty else { return nil }   // head_parts.pop() on an empty list
                head.removeLast()
            } else if !part.isEmpty && !isDot(part) {
                head.append(part)
            }
        }
        var tail = parts.removeLast()   // split always yields at least one part
        if isDotDot(tail) {
            guard !head.isEmpty else { return nil }
            head.removeLast()
            tail = []
        } else if isDot(tail) {
            tail = []
        }
        // '/'.join(('/' + '/'.join(head_parts), tail_part)), with '?' + query on the tail.
        var result: [UInt32] = [slash]
        for (index, part) in head.enumerated() {
            if index > 0 { result.append(slash) }
            result.append(contentsOf: part)
        }
        result.append(slash)
        result.append(contentsOf: tail)
        if !query.isEmpty {
            result.append(question)
            result.append(contentsOf: query)
        }
        return result
    }

    private static func isDot(_ part: ArraySlice<UInt32>) -> Bool { part.count == 1 && part.first == dot }
    private static func isDotDot(_ part: ArraySlice<UInt32>) -> Bool { part.count == 2 && part.allSatisfy { $0 == dot } }

    /// Python's `is_cgi` on a collapsed path: the shortest leading segments that equal one of
    /// `directories` (compared code point by code point, as Python's `in` does), and the rest
    /// after the slash that follows them — `cgi_info`. nil when the path is in no CGI directory.
    public static func split(collapsed path: String, directories: [String]) -> (directory: String, rest: String)? {
        let cps = PythonCodePoints.codePoints(path)
        let wanted = directories.map(PythonCodePoints.codePoints)
        var separator = nextSlash(in: cps, from: 1)
        while let index = separator, !wanted.contains(where: { $0.elementsEqual(cps[..<index]) }) {
            separator = nextSlash(in: cps, from: index + 1)
        }
        guard let index = separator, index > 0 else { return nil }
        return (PythonCodePoints.string(cps[..<index]), PythonCodePoints.string(cps[(index + 1)...]))
    }

    static func nextSlash(in cps: [UInt32], from start: Int) -> Int? {
        guard start < cps.count else { return nil }
        return cps[start...].firstIndex(of: slash)
    }

    /// What `run_cgi` makes of `cgi_info`: the script's URL (`SCRIPT_NAME`), what follows it
    /// (`PATH_INFO`, still percent-encoded) and the query. `isDirectory` answers whether a URL
    /// path is a directory (Python: `os.path.isdir(self.translate_path(nextdir))`): the script is
    /// the first segment that is not one, so `/cgi-bin/sub/x.sh/more` runs `sub/x.sh`.
    public static func locateScript(directory: String, rest: String, isDirectory: (String) -> Bool)
        -> (scriptName: String, pathInfo: String, query: String) {
        var dir = PythonCodePoints.codePoints(directory)
        var remainder = PythonCodePoints.codePoints(rest)
        // path = dir + '/' + rest; walk down while the next prefix is a directory.
        let path = dir + [slash] + remainder
        var separator = nextSlash(in: path, from: dir.count + 1)
        while let index = separator {
            let nextDirectory = Array(path[..<index])
            guard isDirectory(PythonCodePoints.string(nextDirectory)) else { break }
            dir = nextDirectory
            remainder = Array(path[(index + 1)...])
            separator = nextSlash(in: path, from: dir.count + 1)
        }
        // rest, _, query = rest.partition('?')
        var query: [UInt32] = []
        if let mark = remainder.firstIndex(of: question) {
            query = Array(remainder[(mark + 1)...])
            remainder = Array(remainder[..<mark])
        }
        // script, rest = rest[:i], rest[i:] at the first '/', which stays with PATH_INFO.
        var script = remainder
        var pathInfo: [UInt32] = []
        if let index = remainder.firstIndex(of: slash) {
            script = Array(remainder[..<index])
            pathInfo = Array(remainder[index...])
        }
        return (PythonCodePoints.string(dir + [slash] + script), PythonCodePoints.string(pathInfo),
                PythonCodePoints.string(query))
    }

    /// Python's `is_python`: `os.path.splitext(path)[1].lower()` is `.py` or `.pyw`.
    public static func isPythonScript(_ path: String) -> Bool {
        let cps = PythonCodePoints.codePoints(path)
        let name = cps.lastIndex(of: slash).map { cps[($0 + 1)...] } ?? cps[...]
        // splitext: the last dot, unless every character before it in the name is a dot.
        guard let dotIndex = name.lastIndex(of: dot),
              name[name.startIndex..<dotIndex].contains(where: { $0 != dot }) else { return false }
        let ext = PythonCodePoints.lowercased(Array(name[dotIndex...]))
        return ext == [dot, 0x70, 0x79] || ext == [dot, 0x70, 0x79, 0x77]
    }

    /// The argument Python passes after the script name: the query with `+` made a space
    /// (and nothing else decoded), only when it holds no `=` — even when it is empty.
    public static func commandLineArgument(query: String) -> String? {
        let decoded = String(String.UnicodeScalarView(query.unicodeScalars.map { $0 == "+" ? " " : $0 }))
        return decoded.unicodeScalars.contains("=") ? nil : decoded
    }
}
