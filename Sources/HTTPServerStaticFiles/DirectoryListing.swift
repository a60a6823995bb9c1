#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPServerCore

/// The HTML page `SimpleHTTPRequestHandler.list_directory` renders, byte for byte as CPython 3.11
/// writes it with a UTF-8 file system encoding.
///
/// Names are handled as Python sees them: `os.listdir` decodes with `surrogateescape`, the link is
/// `urllib.parse.quote(name, errors='surrogatepass')`, the text is `html.escape(name, quote=False)`,
/// and the page is encoded back with `surrogateescape`, so a name that is not UTF-8 shows its raw
/// bytes. Entries are sorted by `name.lower()` in code point order, ties kept in `readdir` order.
public struct DirectoryListing: Sendable {
    /// One directory entry.
    public struct Entry: Equatable, Sendable {
        /// The name's bytes as `readdir` returns them.
        public var name: [UInt8]
        /// `os.path.isdir`: a directory, or a link to one.
        public var isDirectory: Bool
        /// `os.path.islink`.
        public var isSymbolicLink: Bool
        /// An entry from the name's raw bytes (any bytes, as `readdir` may return them).
        public init(name: [UInt8], isDirectory: Bool, isSymbolicLink: Bool) {
            self.name = name
            self.isDirectory = isDirectory
            self.isSymbolicLink = isSymbolicLink
        }
        /// An entry from a name given as a string, stored as its UTF-8 bytes.
        public init(_ name: String, isDirectory: Bool = false, isSymbolicLink: Bool = false) {
            self.init(name: Array(name.utf8), isDirectory: isDirectory, isSymbolicLink: isSymbolicLink)
        }
    }

    /// The directory's entries; `html(requestPath:)` sorts them as Python does, ties in this order.
    public var entries: [Entry]

    /// A listing of these entries, e.g. for a test, without reading a directory.
    public init(entries: [Entry]) { self.entries = entries }

    /// `os.listdir(path)` with `isdir`/`islink` for each entry; nil when the directory cannot be read.
    public init?(readingDirectory path: String) {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while let ent = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            var full = Array(path.utf8)
            if full.last != 0x2F { full.append(0x2F) }
            full += name
            full.append(0)
            var st = stat()
            let isDirectory = full.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { stat($0.baseAddress!, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR }
            }
            let isLink = full.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK }
            }
            entries.append(Entry(name: name, isDirectory: isDirectory, isSymbolicLink: isLink))
        }
        self.entries = entries
    }

    /// The page for a request whose raw path (query included, as Python uses `self.path`) is `requestPath`.
    public func html(requestPath: String) -> [UInt8] {
        let title = Self.codePoints("Directory listing for ") + Self.htmlEscape(Self.displayPath(requestPath))
        var page: [UInt32] = []
        func line(_ s: String) { page += Self.codePoints(s); page.append(0x0A) }
        line("<!DOCTYPE HTML>")
        line("<html lang=\"en\">")
        line("<head>")
        line("<meta charset=\"utf-8\">")
        page += Self.codePoints("<title>") + title + Self.codePoints("</title>\n</head>\n")
        page += Self.codePoints("<body>\n<h1>") + title + Self.codePoints("</h1>\n")
        line("<hr>\n<ul>")
        for entry in sorted() {
            let name = PythonCodePoints.decode(entry.name, errors: .surrogateEscape) ?? []
            var display = name, link = name
            if entry.isDirectory { display.append(0x2F); link.append(0x2F) }
            // A link to a directory shows `@` and links with `/`, as in Python.
            if entry.isSymbolicLink { display = name + [0x40] }
            page += Self.codePoints("<li><a href=\"") + Self.quote(link) + Self.codePoints("\">")
            page += Self.htmlEscape(display) + Self.codePoints("</a></li>\n")
        }
        page += Self.codePoints("</ul>\n<hr>\n</body>\n</html>\n")
        return PythonCodePoints.encode(page, escapeSurrogates: true) ?? Array(PythonCodePoints.string(page).utf8)
    }

    /// Entries in Python's order: `list.sort(key=lambda a: a.lower())`, a stable sort.
    func sorted() -> [Entry] {
        let keyed = entries.enumerated().map { (n, e) in
            (key: PythonCodePoints.lowercased(PythonCodePoints.decode(e.name, errors: .surrogateEscape) ?? []), n: n, entry: e)
        }
        return keyed.sorted { a, b in
            if a.key != b.key { return PythonCodePoints.lessThan(a.key, b.key) }
            return a.n < b.n
        }.map(\.entry)
    }

    /// `unquote(self.path, errors='surrogatepass')`, else `unquote(self.path)`.
    static func displayPath(_ requestPath: String) -> [UInt32] {
        PathTranslation.unquote(PythonCodePoints.codePoints(requestPath))
    }

    /// `html.escape(s, quote=False)`.
    static func htmlEscape(_ s: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case 0x26: out += codePoints("&amp;")
            case 0x3C: out += codePoints("&lt;")
            case 0x3E: out += codePoints("&gt;")
            default: out.append(c)
            }
        }
        return out
    }

    /// `urllib.parse.quote(s, safe='/', errors='surrogatepass')`: UTF-8 (surrogates included), and
    /// every byte but letters, digits, `_.-~` and `/` as `%XX` in upper case.
    public static func quote(_ s: String) -> String {
        PythonCodePoints.string(quote(PythonCodePoints.codePoints(s)))
    }

    static func quote(_ s: [UInt32]) -> [UInt32] {
        let bytes = PythonCodePoints.encode(s, escapeSurrogates: false) ?? []
        let hex = Array("0123456789ABCDEF".unicodeScalars.map(\.value))
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(UInt32(b))
            default:
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return out
    }

    private static func codePoints(_ s: String) -> [UInt32] { PythonCodePoints.codePoints(s) }
}
