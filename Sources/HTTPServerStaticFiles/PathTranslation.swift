import HTTPServerCore

/// URL path → file path, as CPython 3.11's `SimpleHTTPRequestHandler.translate_path` does it, plus
/// the URL helpers it needs (`unquote`, `posixpath.normpath`, `urlsplit`/`urlunsplit`) and the checks
/// that keep a request inside the served directory.
///
/// Containment: after percent-decoding (so `%2e%2e` and `%2f` count), the path is normalised and
/// every `.`, `..` and empty component is dropped, so the result is always `directory` followed by
/// plain names. A backslash is an ordinary byte in a POSIX file name, as in Python, so `..\..` is
/// one (missing) name. Symbolic links inside the tree are followed, as Python does: whoever put a
/// link in the served folder chose to publish its target.
public enum PathTranslation {
    /// What the handler should do with a request path before touching the file system.
    public enum Verdict: Equatable, Sendable {
        /// Serve the file system path.
        case serve(String)
        /// The decoded path holds a NUL byte. Python raises and drops the connection; we answer 400.
        case badRequest
    }

    /// `translate_path(path)`: drops the query and fragment, keeps a trailing slash, percent-decodes
    /// (UTF-8; `surrogatepass`, else `replace`), collapses `.`/`..`, drops empty/`.`/`..` components,
    /// and joins what is left to `directory`.
    public static func translate(_ path: String, directory: String) -> String {
        translatePlain(path, directory: directory) ?? translateGeneral(path, directory: directory)
    }

    static func translateGeneral(_ path: String, directory: String) -> String {
        var cps = PythonCodePoints.codePoints(path)
        if let q = cps.firstIndex(of: 0x3F) { cps.removeSubrange(q...) }   // '?'
        if let h = cps.firstIndex(of: 0x23) { cps.removeSubrange(h...) }   // '#'
        // Issue17324: `path.rstrip().endswith('/')`.
        var end = cps.count
        while end > 0 && PythonCodePoints.isSpace(cps[end - 1]) { end -= 1 }
        let hasTrailingSlash = end > 0 && cps[end - 1] == 0x2F
        let decoded = unquote(cps)
        var result = directory
        for word in normalize(decoded).split(separator: 0x2F, omittingEmptySubsequences: true) {
            if word.elementsEqual([0x2E]) || word.elementsEqual([0x2E, 0x2E]) { continue }
            if !result.isEmpty && !result.hasSuffix("/") { result += "/" }
            result += PythonCodePoints.string(word)
        }
        if hasTrailingSlash { result += "/" }
        return result
    }

    /// The common case without building code point arrays: a path of visible ASCII starting with `/`,
    /// without `%`, empty, `.` or `..` components, needs no decoding or normalising, so the answer is
    /// `directory + path` (query and fragment dropped). nil: take the general route.
    static func translatePlain(_ path: String, directory: String) -> String? {
        guard !directory.isEmpty, !directory.hasSuffix("/") else { return nil }
        let utf8 = path.utf8
        let end = utf8.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? utf8.endIndex
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        var segmentLength = 0, dots = 0
        var index = utf8.index(after: utf8.startIndex)
        while index < end {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "/"):
                // An empty, `.` or `..` component needs normalising.
                if segmentLength == 0 || segmentLength == dots { return nil }
                segmentLength = 0
                dots = 0
            case UInt8(ascii: "%"):
                return nil
            case 0x21...0x7E:
                segmentLength += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            default:
                return nil
            }
            index = utf8.index(after: index)
        }
        // A last component of only dots (`/a/..`) needs normalising too; an empty one is a trailing slash.
        if segmentLength > 0 && segmentLength == dots && dots <= 2 { return nil }
        return directory + String(path[path.startIndex..<end])
    }

    /// The check the handler runs on `translatePath`'s answer before any system call.
    public static func verdict(forTranslated path: String) -> Verdict {
        let hasNUL = path.utf8.withContiguousStorageIfAvailable { $0.contains(0) } ?? path.utf8.contains(0)
        return hasNUL ? .badRequest : .serve(path)
    }

    /// `urllib.parse.unquote(s, errors='surrogatepass')`, falling back to `errors='replace'` as
    /// `http.server` does. ASCII runs are percent-decoded; other characters pass through.
    public static func unquote(_ s: String) -> String {
        PythonCodePoints.string(unquote(PythonCodePoints.codePoints(s)))
    }

    package static func unquote(_ cps: [UInt32]) -> [UInt32] {
        guard cps.contains(0x25) else { return cps }
        return unquote(cps, errors: .surrogatePass) ?? unquote(cps, errors: .replace) ?? cps
    }

    package static func unquote(_ cps: [UInt32], errors: PythonCodePoints.DecodingErrors) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(cps.count)
        var i = 0
        while i < cps.count {
            if cps[i] >= 0x80 { out.append(cps[i]); i += 1; continue }
            var bytes: [UInt8] = []
            while i < cps.count && cps[i] < 0x80 {
                if cps[i] == 0x25, i + 2 < cps.count, let hi = hexValue(cps[i + 1]), let lo = hexValue(cps[i + 2]) {
                    bytes.append(hi << 4 | lo)
                    i += 3
                } else {
                    bytes.append(UInt8(cps[i]))
                    i += 1
                }
            }
            guard let run = PythonCodePoints.decode(bytes, errors: errors) else { return nil }
            out.append(contentsOf: run)
        }
        return out
    }

    private static func hexValue(_ c: UInt32) -> UInt8? {
        switch c {
        case 0x30...0x39: return UInt8(c - 0x30)
        case 0x41...0x46: return UInt8(c - 0x41 + 10)
        case 0x61...0x66: return UInt8(c - 0x61 + 10)
        default: return nil
        }
    }

    /// `posixpath.normpath`.
    public static func normalize(_ path: String) -> String {
        PythonCodePoints.string(normalize(PythonCodePoints.codePoints(path)))
    }

    static func normalize(_ path: [UInt32]) -> [UInt32] {
        if path.isEmpty { return [0x2E] }
        var initialSlashes = path.first == 0x2F ? 1 : 0
        // POSIX allows `//` to mean something else, so exactly two leading slashes are kept.
        if path.starts(with: [0x2F, 0x2F]) && !path.starts(with: [0x2F, 0x2F, 0x2F]) { initialSlashes = 2 }
        var comps: [ArraySlice<UInt32>] = []
        for comp in path.split(separator: 0x2F, omittingEmptySubsequences: false) {
            if comp.isEmpty || comp.elementsEqual([0x2E]) { continue }
            let isDotDot = comp.elementsEqual([0x2E, 0x2E])
            if !isDotDot || (initialSlashes == 0 && comps.isEmpty)
                || (comps.last.map { $0.elementsEqual([0x2E, 0x2E]) } ?? false) {
                comps.append(comp)
            } else if !comps.isEmpty {
                comps.removeLast()
            }
        }
        var out = [UInt32](repeating: 0x2F, count: initialSlashes)
        for (n, comp) in comps.enumerated() {
            if n > 0 { out.append(0x2F) }
            out.append(contentsOf: comp)
        }
        return out.isEmpty ? [0x2E] : out
    }
}
