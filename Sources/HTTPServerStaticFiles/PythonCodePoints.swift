import HTTPServerCore

/// Python's view of text as a sequence of code points, where lone surrogates are allowed, and the
/// UTF-8 error handlers `http.server` relies on (`surrogatepass`, `surrogateescape`, `replace`).
///
/// A Swift `String` cannot hold a lone surrogate, but Python's `os.listdir` and
/// `unquote(errors='surrogatepass')` produce them, and the directory listing's bytes depend on them:
/// a file name that is not UTF-8 (byte 0xFF) is `\udcff` to Python, quoted as `%ED%B3%BF` and
/// written back as the raw byte. This type reproduces that with `[UInt32]` code points.
package enum PythonCodePoints {
    /// What to do with bytes that are not UTF-8.
    package enum DecodingErrors {
        /// `errors='surrogatepass'`: encoded surrogates (ED A0..BF xx) are code points; anything else
        /// invalid fails the whole decode.
        case surrogatePass
        /// `errors='replace'`: each maximal invalid subpart becomes U+FFFD.
        case replace
        /// `errors='surrogateescape'` (the file system encoding): each invalid byte b becomes U+DC00+b.
        case surrogateEscape
    }

    /// The scalar starting at `i`, or how many bytes form the maximal invalid subpart there
    /// (Unicode §3.9, Table 3-7; CPython's decoder splits errors the same way).
    private static func scalar(at i: Int, in bytes: [UInt8], allowSurrogates: Bool) -> (value: UInt32?, length: Int) {
        let b0 = bytes[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xED: need = 2; if !allowSurrogates { hi = 0x9F }
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return (nil, 1)
        }
        var value = UInt32(b0) & (need == 1 ? 0x1F : need == 2 ? 0x0F : 0x07)
        for k in 1...need {
            guard i + k < bytes.count else { return (nil, k) }
            let b = bytes[i + k]
            let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
            guard b >= l && b <= h else { return (nil, k) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return (value, need + 1)
    }

    /// `bytes.decode('utf-8', errors)`; nil when `errors` is `.surrogatePass` and the bytes are invalid.
    package static func decode(_ bytes: [UInt8], errors: DecodingErrors) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let (value, length) = scalar(at: i, in: bytes, allowSurrogates: errors == .surrogatePass)
            if let value {
                out.append(value)
                i += length
                continue
            }
            switch errors {
            case .surrogatePass: return nil
            case .replace: out.append(0xFFFD); i += length
            case .surrogateEscape: out.append(0xDC00 + UInt32(bytes[i])); i += 1
            }
        }
        return out
    }

    /// `str.encode('utf-8', 'surrogatepass')` when `escapeSurrogates` is false; with it,
    /// `'surrogateescape'`, which fails (nil) on a surrogate outside U+DC80...U+DCFF.
    package static func encode(_ codePoints: [UInt32], escapeSurrogates: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(codePoints.count)
        for c in codePoints {
            if escapeSurrogates && (0xD800...0xDFFF).contains(c) {
                guard (0xDC80...0xDCFF).contains(c) else { return nil }
                out.append(UInt8(c - 0xDC00))
                continue
            }
            appendUTF8(c, to: &out)
        }
        return out
    }

    /// UTF-8 of one code point (a surrogate gets its 3-byte form, as `surrogatepass` writes it).
    package static func appendUTF8(_ c: UInt32, to out: inout [UInt8]) {
        switch c {
        case 0..<0x80: out.append(UInt8(c))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | c >> 6)); out.append(UInt8(0x80 | c & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | c >> 12)); out.append(UInt8(0x80 | c >> 6 & 0x3F))
            out.append(UInt8(0x80 | c & 0x3F))
        default:
            out.append(UInt8(0xF0 | c >> 18)); out.append(UInt8(0x80 | c >> 12 & 0x3F))
            out.append(UInt8(0x80 | c >> 6 & 0x3F)); out.append(UInt8(0x80 | c & 0x3F))
        }
    }

    package static func codePoints(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
    package static func codePoints(_ s: Substring) -> [UInt32] { s.unicodeScalars.map(\.value) }

    /// A `String` of code points; a lone surrogate, which `String` cannot hold, becomes U+FFFD.
    package static func string<C: Collection>(_ codePoints: C) -> String where C.Element == UInt32 {
        var view = String.UnicodeScalarView()
        for c in codePoints { view.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
        return String(view)
    }

    /// `str.lower()`: the full lowercase mapping of each code point (surrogates are unchanged).
    package static func lowercased(_ codePoints: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(codePoints.count)
        for c in codePoints {
            if c < 0x80 {
                out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            } else if let scalar = Unicode.Scalar(c) {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars.map(\.value))
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Python's `str.__lt__`: code point order (a Swift `String` compares canonically instead).
    package static func lessThan(_ a: [UInt32], _ b: [UInt32]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    /// `str.isspace()` for one code point.
    package static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: return true
        default:
            guard c > 0xFF, let scalar = Unicode.Scalar(c) else { return false }
            return scalar.properties.isWhitespace
        }
    }
}
