import HTTPServerCore

/// `email.utils.parsedate_to_datetime`, the lenient date parser CPython's `send_head` applies to
/// `If-Modified-Since`.
///
/// It is kept here rather than using `HTTPDate.parse` (the three RFC 9110 forms) because Python's
///304 decision depends on its quirks: it accepts many RFC 822/850/asctime variants, two-digit
/// years, and numeric or named zones, and `send_head` then *ignores* any date whose zone is not
/// UTC (`+0100`, `EST`), while `-0000` and a missing zone count as UTC.
enum PythonDateParser {
    /// A parsed date: seconds since the epoch (UTC) and the zone offset in seconds (nil: no zone or `-0000`).
    struct Parsed: Equatable {
        var epochSeconds: Int64
        var utcOffset: Int?
    }

    private static let monthNames = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december",
    ]
    private static let dayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let zones: [String: Int] = [
        "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "AST": -400, "ADT": -300, "EST": -500, "EDT": -400,
        "CST": -600, "CDT": -500, "MST": -700, "MDT": -600, "PST": -800, "PDT": -700,
    ]

    /// nil where Python returns None or raises (then `send_head` ignores the header).
    static func parse(_ text: String) -> Parsed? {
        var data = text.split(whereSeparator: { $0.unicodeScalars.allSatisfy { PythonCodePoints.isSpace($0.value) } }).map(String.init)
        guard !data.isEmpty else { return nil }
        if data[0].hasSuffix(",") || dayNames.contains(data[0].lowercased()) {
            data.removeFirst()
        } else if let comma = data[0].lastIndex(of: ",") {
            data[0] = String(data[0][data[0].index(after: comma)...])
        }
        if data.count == 3 {   // RFC 850: 06-Nov-94
            let stuff = data[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            if stuff.count == 3 { data = stuff + data[1...] }
        }
        if data.count == 4 {
            let s = data[3]
            let sign = s.firstIndex(of: "+") ?? s.firstIndex(of: "-")
            if let sign, sign > s.startIndex {
                data[3...] = [String(s[..<sign]), String(s[sign...])]
            } else {
                data.append("")
            }
        }
        guard data.count >= 5 else { return nil }
        var (dd, mm, yy, tm, tz) = (data[0], data[1].lowercased(), data[2], data[3], data[4])
        guard !dd.isEmpty, !mm.isEmpty, !yy.isEmpty else { return nil }
        if !monthNames.contains(mm) {
            (dd, mm) = (mm, dd.lowercased())
            guard monthNames.contains(mm) else { return nil }
        }
        var month = monthNames.firstIndex(of: mm)! + 1
        if month > 12 { month -= 12 }
        if dd.hasSuffix(",") { dd.removeLast() }
        if let colon = yy.firstIndex(of: ":"), colon > yy.startIndex { (yy, tm) = (tm, yy) }
        if yy.hasSuffix(",") {
            yy.removeLast()
            guard !yy.isEmpty else { return nil }
        }
        if !(yy.first?.isNumber ?? false) { (yy, tz) = (tz, yy) }
        if tm.hasSuffix(",") { tm.removeLast() }
        var fields = tm.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if fields.count == 1 && tm.contains(".") {
            fields = tm.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 2 || fields.count == 3 else { return nil }
        }
        guard fields.count == 2 || fields.count == 3 else { return nil }
        guard var year = pythonInt(yy), let day = pythonInt(dd), let hour = pythonInt(fields[0]),
              let minute = pythonInt(fields[1]), let second = fields.count == 3 ? pythonInt(fields[2]) : 0
        else { return nil }
        if year < 100 { year += year > 68 ? 1900 : 2000 }
        var offset: Int? = nil
        let zone = tz.uppercased()
        if let named = zones[zone] {
            offset = named
        } else if let numeric = pythonInt(zone) {
            offset = numeric == 0 && zone.hasPrefix("-") ? nil : numeric
        }
        if let raw = offset, raw != 0 {
            let magnitude = abs(raw)
            offset = (raw < 0 ? -1 : 1) * ((magnitude / 100) * 3600 + (magnitude % 100) * 60)
        }
        // datetime(...) raises for out-of-range fields.
        guard (1...9999).contains(year), (1...12).contains(month), (1...daysIn(month, year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let local = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        return Parsed(epochSeconds: local - Int64(offset ?? 0), utcOffset: offset)
    }

    /// `int(s)` for ASCII: optional sign, digits, surrounding whitespace.
    private static func pythonInt(_ s: String) -> Int? {
        let t = s.trimmingASCIIWhitespace()
        guard t.count <= 18 else { return nil }
        return Int(t)
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
