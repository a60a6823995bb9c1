/// Small text helpers that reproduce what CPython's `http.server` prints, byte for byte.
/// None of these are on the hot path: they run for error pages and log lines.
package enum PythonText {
    /// `repr(s)` for a `str`, as CPython writes it (used in "Bad request syntax (%r)" and friends).
    /// The request line is decoded as Latin-1 first, as `http.server` does.
    package static func repr(_ s: String) -> String {
        let useDouble = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = useDouble ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case quote: out += "\\" + String(quote)
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let v = scalar.value
                if v < 0x20 || v == 0x7f || (v >= 0x80 && v < 0xa0) {
                    out += "\\x" + hex(v, width: 2)
                } else if !isPrintable(scalar) && v < 0x10000 {
                    out += "\\u" + hex(v, width: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        // Latin-1 is all a request line can hold; of it, only 0xAD (soft hyphen) is not printable in Python.
        scalar.value != 0xad
    }

    package static func hex(_ value: UInt32, width: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var v = value
        var i = width - 1
        while i >= 0 {
            bytes[i] = digits[Int(v & 0xf)]
            v >>= 4
            i -= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `html.escape(s, quote=False)`.
    package static func htmlEscape(_ s: String, quote: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quote: out += "&quot;"
            case "'" where quote: out += "&#x27;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `message.translate(BaseHTTPRequestHandler._control_char_table)`: C0 and C1 controls become
    /// `\xNN` and a backslash is doubled, so a client cannot forge log lines.
    package static func escapeControlCharacters(_ s: String) -> String {
        var needsWork = false
        for scalar in s.unicodeScalars where scalar.value < 0x20 || (scalar.value >= 0x7f && scalar.value < 0xa0) || scalar == "\\" {
            needsWork = true
            break
        }
        if !needsWork { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (v >= 0x7f && v < 0xa0) {
                out += "\\x" + hex(v, width: 2)
            } else if scalar == "\\" {
                out += "\\\\"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Python's `format % {"code": ..., "message": ..., "explain": ...}` for `error_message_format`:
    /// `%(name)s`, `%(name)d`, `%(name)r` and `%%`. An unknown key is left as written.
    package static func percentFormat(_ format: String, _ values: [String: String]) -> String {
        var out = ""
        var scalars = Array(format.unicodeScalars)[...]
        while let c = scalars.first {
            scalars = scalars.dropFirst()
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            if scalars.first == "%" { out += "%"; scalars = scalars.dropFirst(); continue }
            if scalars.first == "(", let close = scalars.firstIndex(of: ")"), close + 1 < scalars.endIndex {
                let key = String(String.UnicodeScalarView(scalars[scalars.startIndex + 1 ..< close]))
                let conversion = scalars[close + 1]
                if let value = values[key], "sdr".unicodeScalars.contains(conversion) {
                    out += conversion == "r" ? repr(value) : value
                    scalars = scalars[(close + 2)...]
                    continue
                }
            }
            out += "%"
        }
        return out
    }

    /// Latin-1 decoding of raw bytes, as `str(raw, 'iso-8859-1')`.
    package static func latin1(_ bytes: UnsafeRawBufferPointer) -> String {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    /// Python `str.split()` on ASCII whitespace.
    package static func splitWords(_ s: String) -> [Substring] {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" })
    }
}
