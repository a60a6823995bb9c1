/// HTTP dates (RFC 9110 §5.6.7). Pure: callers pass seconds since the epoch.
public enum HTTPDate {
    static let dayNames: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let longDayNames: [StaticString] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let monthNames: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes), appended to `out`.
    public static func format(epochSeconds: Int64, into out: inout [UInt8]) {
        let c = civil(epochSeconds: epochSeconds)
        append(dayNames[c.weekday], to: &out)
        out.append(.comma)
        out.append(.sp)
        appendTwoDigits(c.day, to: &out)
        out.append(.sp)
        append(monthNames[c.month - 1], to: &out)
        out.append(.sp)
        let year = max(0, min(9999, c.year))
        appendTwoDigits(year / 100, to: &out)
        appendTwoDigits(year % 100, to: &out)
        out.append(.sp)
        appendTwoDigits(c.hour, to: &out)
        out.append(.colon)
        appendTwoDigits(c.minute, to: &out)
        out.append(.colon)
        appendTwoDigits(c.second, to: &out)
        out.append(contentsOf: [.sp, UInt8(ascii: "G"), UInt8(ascii: "M"), UInt8(ascii: "T")])
    }

    /// IMF-fixdate as a String (Python's `email.utils.formatdate(usegmt=True)`).
    public static func string(epochSeconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(29)
        format(epochSeconds: epochSeconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses IMF-fixdate, RFC 850 and asctime forms (RFC 9110 §5.6.7); nil if malformed.
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses the three HTTP date forms from bytes; nil if malformed.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var s = DateScanner(bytes: bytes)
        s.skipWhitespace()
        // Day name: "Sun," (IMF), "Sunday," (RFC 850) or "Sun " (asctime).
        guard let dayLength = s.letters(), dayLength >= 3 else { return nil }
        if s.take(.comma) {
            guard s.take(.sp) else { return nil }
            guard let day = s.digits(2) else { return nil }
            if dayLength == 3, s.take(.sp) {
                // IMF-fixdate: "06 Nov 1994 08:49:37 GMT"
                guard let month = s.month(), s.take(.sp), let year = s.digits(4), s.take(.sp),
                      let (h, m, sec) = s.time(), s.take(.sp), s.takeGMT(), s.atEndIgnoringWhitespace()
                else { return nil }
                return epoch(year: year, month: month, day: day, hour: h, minute: m, second: sec)
            }
            // RFC 850: "06-Nov-94 08:49:37 GMT"
            guard dayLength > 3, s.take(UInt8(ascii: "-")), let month = s.month(), s.take(UInt8(ascii: "-")),
                  let yy = s.digits(2), s.take(.sp), let (h, m, sec) = s.time(), s.take(.sp), s.takeGMT(),
                  s.atEndIgnoringWhitespace()
            else { return nil }
            // Two-digit years as Python's email.utils does: 69–99 → 19xx, 00–68 → 20xx.
            let year = yy > 68 ? 1900 + yy : 2000 + yy
            return epoch(year: year, month: month, day: day, hour: h, minute: m, second: sec)
        }
        // asctime: "Sun Nov  6 08:49:37 1994"
        guard dayLength == 3, s.take(.sp), let month = s.month(), s.take(.sp) else { return nil }
        let day: Int
        if s.take(.sp) {
            guard let d = s.digits(1) else { return nil }
            day = d
        } else {
            guard let d = s.digits(2) else { return nil }
            day = d
        }
        guard s.take(.sp), let (h, m, sec) = s.time(), s.take(.sp), let year = s.digits(4),
              s.atEndIgnoringWhitespace()
        else { return nil }
        return epoch(year: year, month: month, day: day, hour: h, minute: m, second: sec)
    }

    /// Civil fields of a UTC time (for log lines and listings). weekday: 0 = Sunday.
    public static func civil(epochSeconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        let secondsPerDay: Int64 = 86_400
        var days = epochSeconds / secondsPerDay
        var rem = epochSeconds % secondsPerDay
        if rem < 0 { rem += secondsPerDay; days -= 1 }
        // 1970-01-01 was a Thursday (4).
        var weekday = (days + 4) % 7
        if weekday < 0 { weekday += 7 }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day), Int(rem / 3600), Int(rem % 3600 / 60), Int(rem % 60), Int(weekday))
    }

    /// Seconds since the epoch of a UTC civil time (days_from_civil); nil when a field is out of range.
    public static func epoch(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    @inline(__always)
    static func appendTwoDigits(_ v: Int, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: 0x30 + v / 10))
        out.append(UInt8(truncatingIfNeeded: 0x30 + v % 10))
    }

    @inline(__always)
    static func append(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
}

/// A cursor over date bytes.
struct DateScanner {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while i < bytes.count && (bytes[i] == .sp || bytes[i] == .htab) { i += 1 }
    }

    mutating func atEndIgnoringWhitespace() -> Bool {
        skipWhitespace()
        return i == bytes.count
    }

    mutating func take(_ b: UInt8) -> Bool {
        guard i < bytes.count && bytes[i] == b else { return false }
        i += 1
        return true
    }

    /// Skips ASCII letters; returns how many.
    mutating func letters() -> Int? {
        let start = i
        while i < bytes.count && (bytes[i] | 0x20) >= UInt8(ascii: "a") && (bytes[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
        return i > start ? i - start : nil
    }

    /// Exactly `count` decimal digits.
    mutating func digits(_ count: Int) -> Int? {
        guard bytes.count - i >= count else { return nil }
        var v = 0
        for _ in 0..<count {
            let d = Int(bytes[i]) - 0x30
            guard (0...9).contains(d) else { return nil }
            v = v * 10 + d
            i += 1
        }
        return v
    }

    /// A three-letter month name (case-sensitive, as RFC 9110's grammar), 1-based.
    mutating func month() -> Int? {
        guard bytes.count - i >= 3 else { return nil }
        for (index, name) in HTTPDate.monthNames.enumerated() {
            let n = name.utf8Start
            if bytes[i] == n[0] && bytes[i + 1] == n[1] && bytes[i + 2] == n[2] {
                i += 3
                return index + 1
            }
        }
        return nil
    }

    /// "HH:MM:SS"
    mutating func time() -> (Int, Int, Int)? {
        guard let h = digits(2), take(.colon), let m = digits(2), take(.colon), let s = digits(2) else { return nil }
        return (h, m, s)
    }

    mutating func takeGMT() -> Bool {
        take(UInt8(ascii: "G")) && take(UInt8(ascii: "M")) && take(UInt8(ascii: "T"))
    }
}
