import Glibc

/// How Python's `log_message` lines are dated, and the `sys_version` of the `Server` header.
enum LogFormat {
    /// Python's `log_date_time_string()` for `epochSeconds`: local time as `21/Nov/2026 10:00:00`.
    static func dateTime(_ epochSeconds: Int64) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(parts.tm_mday))/\(months[Int(parts.tm_mon)])/\(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// "Swift/6.3" and so on, fixed when the package is compiled.
    static let swiftVersion: String = {
        #if compiler(>=6.4)
        return "Swift/6.4"
        #elseif compiler(>=6.3)
        return "Swift/6.3"
        #elseif compiler(>=6.2)
        return "Swift/6.2"
        #elseif compiler(>=6.1)
        return "Swift/6.1"
        #else
        return "Swift/6.0"
        #endif
    }()
}
