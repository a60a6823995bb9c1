import Glibc

/// The format of the access log's lines.
///
/// Python's format is written by `logRequest` when the response starts (Python's `log_request`,
/// with the size unknown: `-`). The Common and Combined formats are written when the response is
/// complete, with the bytes of its body, as Apache and nginx write them.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// Python's `http.server`: `127.0.0.1 - - [21/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -`.
    case python
    /// The Common Log Format: `127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512`.
    case common
    /// The Combined Log Format: the Common one and `"referer" "user-agent"`.
    case combined

    /// `[21/Nov/2026:10:00:00 +0100]`'s inside for `epochSeconds`, in local time.
    static func commonDate(_ epochSeconds: Int64) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let offset = parts.tm_gmtoff / 60
        let sign = offset < 0 ? "-" : "+"
        return "\(two(Int(parts.tm_mday)))/\(months[Int(parts.tm_mon)])/\(parts.tm_year + 1900):"
            + "\(two(Int(parts.tm_hour))):\(two(Int(parts.tm_min))):\(two(Int(parts.tm_sec))) "
            + "\(sign)\(two(abs(offset) / 60))\(two(abs(offset) % 60))"
    }

    /// A field between double quotes: `"` and `\` escaped, control bytes as `\xhh` (Apache's rule,
    /// so that no client can forge a line or a field).
    static func quoted(_ text: String?) -> String {
        guard let text else { return "\"-\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// One line in this format (not `.python`, which `logRequest` writes).
    static func line(format: AccessLogFormat, host: String, date: String, requestLine: String, status: Int?,
                     bodyBytes: Int, referer: String?, userAgent: String?) -> String {
        let statusText = status.map { String($0) } ?? "-"
        let size = bodyBytes == 0 ? "-" : String(bodyBytes)
        var line = "\(host) - - [\(date)] \(quoted(requestLine)) \(statusText) \(size)"
        if format == .combined {
            line += " \(quoted(referer)) \(quoted(userAgent))"
        }
        return line
    }
}
