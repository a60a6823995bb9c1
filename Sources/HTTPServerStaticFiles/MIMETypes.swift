import HTTPServerCore

/// Content types by file extension, and the guessing rules of CPython 3.11's `mimetypes` and
/// `SimpleHTTPRequestHandler.guess_type`.
///
/// The table is built in, so answers do not depend on the machine: it is exactly CPython 3.11's
/// default map (`mimetypes._types_map_default`), without the entries CPython adds from
/// `/etc/mime.types` and similar files. (In 3.11 `mimetypes.init(files=[])` still reads those files
/// on first use; `mimetypes.knownfiles[:] = []` before `init()` gives the defaults alone.) Regenerate
/// with `python3 -c 'import mimetypes as m; print(m._types_map_default)'` (3.11.7: 149 entries).
/// Notable 3.11 defaults kept as they are: `.js` and `.mjs` are `application/javascript` (3.12 and
/// Debian's mime.types say `text/javascript`), `.xml` is `text/xml`, `.c`/`.h`/`.pl` are `text/plain`.
public enum MIMETypes {
    /// `SimpleHTTPRequestHandler.extensions_map`'s defaults: compressed files are served as what they
    /// are, not as the type of what they contain (`x.tar.gz` is `application/gzip`).
    public static let simpleHandlerExtensionsMap: [String: String] = [
        ".gz": "application/gzip",
        ".Z": "application/octet-stream",
        ".bz2": "application/x-bzip2",
        ".xz": "application/x-xz",
    ]

    /// `mimetypes.suffix_map`: shorthand suffixes expanded before looking up a type (case-insensitive).
    public static let suffixMap: [String: String] = [
        ".svgz": ".svg.gz",
        ".tgz": ".tar.gz",
        ".taz": ".tar.gz",
        ".tz": ".tar.gz",
        ".tbz2": ".tar.bz2",
        ".txz": ".tar.xz",
    ]

    /// `mimetypes.encodings_map`: content codings recognised by suffix (case-sensitive).
    public static let encodingsMap: [String: String] = [
        ".gz": "gzip",
        ".Z": "compress",
        ".bz2": "bzip2",
        ".xz": "xz",
        ".br": "br",
    ]

    /// `mimetypes.types_map` as CPython 3.11 defines it by default (strict types only).
    public static let typesMap: [String: String] = [
        ".3g2": "audio/3gpp2",
        ".3gp": "audio/3gpp",
        ".3gpp": "audio/3gpp",
        ".3gpp2": "audio/3gpp2",
        ".a": "application/octet-stream",
        ".aac": "audio/aac",
        ".adts": "audio/aac",
        ".ai": "application/postscript",
        ".aif": "audio/x-aiff",
        ".aifc": "audio/x-aiff",
        ".aiff": "audio/x-aiff",
        ".ass": "audio/aac",
        ".au": "audio/basic",
        ".avi": "video/x-msvideo",
        ".avif": "image/avif",
        ".bat": "text/plain",
        ".bcpio": "application/x-bcpio",
        ".bin": "application/octet-stream",
        ".bmp": "image/bmp",
        ".c": "text/plain",
        ".cdf": "application/x-netcdf",
        ".cpio": "application/x-cpio",
        ".csh": "application/x-csh",
        ".css": "text/css",
        ".csv": "text/csv",
        ".dll": "application/octet-stream",
        ".doc": "application/msword",
        ".dot": "application/msword",
        ".dvi": "application/x-dvi",
        ".eml": "message/rfc822",
        ".eps": "application/postscript",
        ".etx": "text/x-setext",
        ".exe": "application/octet-stream",
        ".gif": "image/gif",
        ".gtar": "application/x-gtar",
        ".h": "text/plain",
        ".h5": "application/x-hdf5",
        ".hdf": "application/x-hdf",
        ".heic": "image/heic",
        ".heif": "image/heif",
        ".htm": "text/html",
        ".html": "text/html",
        ".ico": "image/vnd.microsoft.icon",
        ".ief": "image/ief",
        ".jpe": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".jpg": "image/jpeg",
        ".js": "application/javascript",
        ".json": "application/json",
        ".ksh": "text/plain",
        ".latex": "application/x-latex",
        ".loas": "audio/aac",
        ".m1v": "video/mpeg",
        ".m3u": "application/vnd.apple.mpegurl",
        ".m3u8": "application/vnd.apple.mpegurl",
        ".man": "application/x-troff-man",
        ".me": "application/x-troff-me",
        ".mht": "message/rfc822",
        ".mhtml": "message/rfc822",
        ".mif": "application/x-mif",
        ".mjs": "application/javascript",
        ".mov": "video/quicktime",
        ".movie": "video/x-sgi-movie",
        ".mp2": "audio/mpeg",
        ".mp3": "audio/mpeg",
        ".mp4": "video/mp4",
        ".mpa": "video/mpeg",
        ".mpe": "video/mpeg",
        ".mpeg": "video/mpeg",
        ".mpg": "video/mpeg",
        ".ms": "application/x-troff-ms",
        ".n3": "text/n3",
        ".nc": "application/x-netcdf",
        ".nq": "application/n-quads",
        ".nt": "application/n-triples",
        ".nws": "message/rfc822",
        ".o": "application/octet-stream",
        ".obj": "application/octet-stream",
        ".oda": "application/oda",
        ".opus": "audio/opus",
        ".p12": "application/x-pkcs12",
        ".p7c": "application/pkcs7-mime",
        ".pbm": "image/x-portable-bitmap",
        ".pdf": "application/pdf",
        ".pfx": "application/x-pkcs12",
        ".pgm": "image/x-portable-graymap",
        ".pl": "text/plain",
        ".png": "image/png",
        ".pnm": "image/x-portable-anymap",
        ".pot": "application/vnd.ms-powerpoint",
        ".ppa": "application/vnd.ms-powerpoint",
        ".ppm": "image/x-portable-pixmap",
        ".pps": "application/vnd.ms-powerpoint",
        ".ppt": "application/vnd.ms-powerpoint",
        ".ps": "application/postscript",
        ".pwz": "application/vnd.ms-powerpoint",
        ".py": "text/x-python",
        ".pyc": "application/x-python-code",
        ".pyo": "application/x-python-code",
        ".qt": "video/quicktime",
        ".ra": "audio/x-pn-realaudio",
        ".ram": "application/x-pn-realaudio",
        ".ras": "image/x-cmu-raster",
        ".rdf": "application/xml",
        ".rgb": "image/x-rgb",
        ".roff": "application/x-troff",
        ".rtx": "text/richtext",
        ".sgm": "text/x-sgml",
        ".sgml": "text/x-sgml",
        ".sh": "application/x-sh",
        ".shar": "application/x-shar",
        ".snd": "audio/basic",
        ".so": "application/octet-stream",
        ".src": "application/x-wais-source",
        ".srt": "text/plain",
        ".sv4cpio": "application/x-sv4cpio",
        ".sv4crc": "application/x-sv4crc",
        ".svg": "image/svg+xml",
        ".swf": "application/x-shockwave-flash",
        ".t": "application/x-troff",
        ".tar": "application/x-tar",
        ".tcl": "application/x-tcl",
        ".tex": "application/x-tex",
        ".texi": "application/x-texinfo",
        ".texinfo": "application/x-texinfo",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        ".tr": "application/x-troff",
        ".trig": "application/trig",
        ".tsv": "text/tab-separated-values",
        ".txt": "text/plain",
        ".ustar": "application/x-ustar",
        ".vcf": "text/x-vcard",
        ".vtt": "text/vtt",
        ".wasm": "application/wasm",
        ".wav": "audio/x-wav",
        ".webm": "video/webm",
        ".webmanifest": "application/manifest+json",
        ".wiz": "application/msword",
        ".wsdl": "application/xml",
        ".xbm": "image/x-xbitmap",
        ".xlb": "application/vnd.ms-excel",
        ".xls": "application/vnd.ms-excel",
        ".xml": "text/xml",
        ".xpdl": "application/xml",
        ".xpm": "image/x-xpixmap",
        ".xsl": "application/xml",
        ".xwd": "image/x-xwindowdump",
        ".zip": "application/zip",
    ]

    /// `posixpath.splitext`: the extension is everything from the last dot of the last path component,
    /// ignoring the component's leading dots (`.bashrc` has none). Scans UTF-8 bytes from the end:
    /// `/` and `.` are ASCII, so they never occur inside a multi-byte character.
    public static func splitExtension(_ path: Substring) -> (base: Substring, ext: Substring) {
        let utf8 = path.utf8
        var index = utf8.endIndex
        var dot: String.Index? = nil
        var nonDotAfterStart = false
        while index > utf8.startIndex {
            let previous = utf8.index(before: index)
            let byte = utf8[previous]
            if byte == UInt8(ascii: "/") { break }
            if byte == UInt8(ascii: "."), dot == nil {
                dot = previous
            } else if byte != UInt8(ascii: "."), dot != nil {
                nonDotAfterStart = true   // a character before the last dot that is not a dot
            }
            index = previous
        }
        guard let dot, nonDotAfterStart else { return (path, path[path.endIndex...]) }
        return (path[..<dot], path[dot...])
    }

    /// `mimetypes.guess_type(path)` (strict): the type and the content coding, either may be nil.
    public static func guess(path: String) -> (type: String?, encoding: String?) {
        var rest = Substring(path)
        // urllib.parse._splittype: a leading `scheme:` (no slash before the colon) is a URL scheme.
        if let stop = rest.utf8.firstIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }),
           rest.utf8[stop] == UInt8(ascii: ":"), stop > rest.startIndex {
            let scheme = rest[..<stop].lowercased()
            rest = rest[rest.utf8.index(after: stop)...]
            if scheme == "data" { return (dataURLType(rest), nil) }
        }
        var (base, ext) = splitExtension(rest)
        while let expansion = suffixMap[ext.lowercased()] {
            let expanded = String(base) + expansion
            (base, ext) = splitExtension(Substring(expanded))
        }
        var encoding: String? = nil
        if let coding = encodingsMap[String(ext)] {
            encoding = coding
            (base, ext) = splitExtension(base)
        }
        return (typesMap[ext.lowercased()], encoding)
    }

    /// A `data:` URL's media type, as `mimetypes` reads it.
    private static func dataURLType(_ url: Substring) -> String? {
        guard let comma = url.firstIndex(of: ",") else { return nil }
        let head = url[..<comma]
        let type = head.firstIndex(of: ";").map { head[..<$0] } ?? head
        if type.contains("=") || !type.contains("/") { return "text/plain" }
        return String(type)
    }

    /// `SimpleHTTPRequestHandler.guess_type`: the handler's `extensionsMap` (as written, then
    /// lowercased), then the table, then `defaultType`.
    public static func contentType(forPath path: String, extensionsMap: [String: String],
                                   defaultType: String = "application/octet-stream") -> String {
        let ext = splitExtension(Substring(path)).ext
        let exact = String(ext)
        if let type = extensionsMap[exact] { return type }
        let lower = lowercased(ext)
        if lower != exact, let type = extensionsMap[lower] { return type }
        // The common case, without `guess`'s second split: an absolute path (no URL scheme) whose
        // suffix is neither a shorthand (`.tgz`) nor a content coding (`.gz`).
        if path.utf8.first == UInt8(ascii: "/"), suffixMap[lower] == nil, encodingsMap[exact] == nil {
            return typesMap[lower] ?? defaultType
        }
        return guess(path: path).type ?? defaultType
    }

    /// `str.lower()` of an extension: a byte map for ASCII, Unicode's mapping otherwise.
    static func lowercased(_ s: Substring) -> String {
        guard s.utf8.allSatisfy({ $0 < 0x80 }) else { return s.lowercased() }
        return String(unsafeUninitializedCapacity: s.utf8.count) { buffer in
            var i = 0
            for byte in s.utf8 {
                buffer[i] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                i += 1
            }
            return i
        }
    }
}
