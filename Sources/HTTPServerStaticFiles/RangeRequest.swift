import HTTPServerCore

/// `Range: bytes=…` (RFC 9110 §14): which parts of a representation a GET asks for, and the
/// `multipart/byteranges` body that carries several of them.
public enum RangeRequest {
    /// What to send for a representation of a given length.
    public enum Outcome: Equatable, Sendable {
        /// No usable Range: 200 with the whole representation.
        case full
        /// 206 with these ranges (one: a plain body with `Content-Range`; several: multipart).
        case partial([Range<Int>])
        /// 416 with `Content-Range: bytes */length`.
        case unsatisfiable
    }

    /// Most ranges served in one response; a request with more gets the whole file (a defence against
    /// many tiny or overlapping ranges that cost more than the file, RFC 9110 §17.15).
    public static let maximumRangeCount = 16

    /// Evaluates a `Range` header value against a representation of `length` bytes.
    ///
    /// - A unit other than `bytes`, or a syntactically invalid set (including `last < first`), is
    ///   ignored (§14.2 lets a server ignore it): `.full`.
    /// - Satisfiable specs are kept in request order, with the last position clamped to the end;
    ///   unsatisfiable ones dropped; none left is `.unsatisfiable`.
    /// - An empty representation ignores Range (nothing can be satisfied, and nothing is gained).
    /// - More than `maximumRangeCount` ranges, or ranges that together exceed the length (overlap),
    ///   get `.full`.
    public static func evaluate(_ value: String, length: Int) -> Outcome {
        let bytes = Array(value.utf8)
        var i = 0
        func skipOWS() { while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 } }
        skipOWS()
        let unit = Array("bytes".utf8)
        guard bytes.count >= i + 6, zip(bytes[i..<i + 5], unit).allSatisfy({ $0 | 0x20 == $1 }) else { return .full }
        i += 5
        skipOWS()
        guard i < bytes.count && bytes[i] == UInt8(ascii: "=") else { return .full }
        i += 1
        func number() -> Int? {
            let start = i
            var n = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(bytes[i] - 0x30))
                n = (o1 || o2) ? Int.max : s   // a huge position is just "past the end"
                i += 1
            }
            return i > start ? n : nil
        }
        var specs: [(first: Int?, last: Int?)] = []
        while true {
            skipOWS()
            if i < bytes.count && bytes[i] == UInt8(ascii: ",") { i += 1; continue }   // empty list elements
            if i == bytes.count { break }
            let first = number()
            guard i < bytes.count && bytes[i] == UInt8(ascii: "-") else { return .full }
            i += 1
            let last = number()
            if first == nil && last == nil { return .full }
            if let first, let last, last < first { return .full }
            specs.append((first, last))
            skipOWS()
            guard i == bytes.count || bytes[i] == UInt8(ascii: ",") else { return .full }
        }
        guard !specs.isEmpty else { return .full }
        guard length > 0, specs.count <= maximumRangeCount else { return .full }
        var ranges: [Range<Int>] = []
        for spec in specs {
            switch (spec.first, spec.last) {
            case let (first?, last):
                guard first < length else { continue }
                ranges.append(first..<(min(last ?? Int.max - 1, length - 1) + 1))
            case let (nil, suffix?):
                guard suffix > 0 else { continue }
                ranges.append(max(0, length - suffix)..<length)
            case (nil, nil):
                continue
            }
        }
        if ranges.isEmpty { return .unsatisfiable }
        let total = ranges.reduce(0) { $0 + $1.count }
        if ranges.count > 1 && total > length { return .full }
        return .partial(ranges)
    }

    /// `Content-Range` of one part: `bytes 0-499/1234`.
    public static func contentRange(_ range: Range<Int>, length: Int) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(length)"
    }

    /// The layout of a `multipart/byteranges` body (RFC 9110 §14.6): before each range its part head
    /// (`CRLF--boundary CRLF Content-Type CRLF Content-Range CRLF CRLF`), and after the last part the
    /// closing delimiter. The file bytes go out between the heads with `sendfile`.
    public struct Multipart: Sendable {
        /// The boundary string between the parts, without its leading `--`.
        public var boundary: String
        /// Each range of the file, with the part head that goes out before it.
        public var parts: [(head: [UInt8], range: Range<Int>)]
        /// The closing delimiter after the last part: `CRLF--boundary--CRLF`.
        public var closing: [UInt8]

        /// The layout for `ranges` of a file of `length` bytes whose type is `contentType`.
        public init(ranges: [Range<Int>], length: Int, contentType: String, boundary: String) {
            self.boundary = boundary
            parts = ranges.map { range in
                let head = "\r\n--\(boundary)\r\nContent-Type: \(contentType)\r\nContent-Range: "
                    + RangeRequest.contentRange(range, length: length) + "\r\n\r\n"
                return (Array(head.utf8), range)
            }
            closing = Array("\r\n--\(boundary)--\r\n".utf8)
        }

        /// The response's `Content-Type`.
        public var contentType: String { "multipart/byteranges; boundary=\(boundary)" }

        /// The body's length, for `Content-Length`.
        public var contentLength: Int {
            parts.reduce(closing.count) { $0 + $1.head.count + $1.range.count }
        }

        /// A boundary unlikely to occur in any file: 20 random hexadecimal digits after a fixed prefix.
        public static func makeBoundary() -> String {
            var generator = SystemRandomNumberGenerator()
            let a = generator.next() as UInt64, b = generator.next() as UInt64
            let hex = String(a, radix: 16) + String(b >> 48, radix: 16)
            return "swift-http-server-" + String(repeating: "0", count: max(0, 20 - hex.count)) + hex
        }
    }
}
