import HTTPServerCore
import HTTPServerStaticFiles

/// The header section at the start of a script's output (RFC 3875 §6), for
/// `CGIConfiguration.ScriptOutput.parsed`: header lines ended by LF or CRLF, then an empty line,
/// then the body. Fed the output as it arrives, in pieces of any size.
struct CGIHeaderParser {
    enum Step: Equatable {
        /// Every byte was consumed; the header section goes on.
        case needMore
        /// The header section ended; the body starts at this offset of the last piece.
        case complete(bodyStart: Int)
        /// Not a header section; the reason, for the log.
        case malformed(String)
    }

    /// What the header section says.
    struct Head: Equatable {
        var status: Int
        /// The reason phrase after the code in `Status:`, if any.
        var reason: String?
        /// The fields to send, in order (not `Status`, and not the framing fields the server owns).
        var fields: [Field]
        var hasContentLength: Bool
    }

    struct Field: Equatable {
        var name: String
        var value: String
    }

    /// Python's limits on a request head apply to the script's: 64 KiB and 100 fields.
    static let maxBytes = 65536
    static let maxFields = 100

    private(set) var fields: [Field] = []
    private var line: [UInt8] = []
    private var total = 0

    mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Step {
        for index in 0..<bytes.count {
            let byte = bytes[index]
            total += 1
            if total > Self.maxBytes { return .malformed("header section longer than \(Self.maxBytes) bytes") }
            guard byte == 10 else {
                line.append(byte)
                continue
            }
            var end = line.count
            if end > 0 && line[end - 1] == 13 { end -= 1 }
            if end == 0 { return .complete(bodyStart: index + 1) }
            guard let field = Self.field(line[0..<end]) else {
                return .malformed("malformed header line \(PythonText.repr(PythonText.latin1(line.withUnsafeBytes { $0 })))")
            }
            fields.append(field)
            if fields.count > Self.maxFields { return .malformed("more than \(Self.maxFields) header fields") }
            line.removeAll(keepingCapacity: true)
        }
        return .needMore
    }

    /// `name: value`, the name a token, the value without control characters (HTAB allowed);
    /// whitespace around the value is dropped. A line starting with whitespace (obs-fold) is refused.
    static func field(_ line: ArraySlice<UInt8>) -> Field? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[..<colon].allSatisfy(isTokenByte) else { return nil }
        var value = line[(colon + 1)...]
        while let first = value.first, first == 32 || first == 9 { value = value.dropFirst() }
        while let last = value.last, last == 32 || last == 9 { value = value.dropLast() }
        guard value.allSatisfy({ $0 >= 32 && $0 != 127 || $0 == 9 }) else { return nil }
        return Field(name: String(decoding: line[..<colon], as: UTF8.self), value: text(value))
    }

    /// UTF-8 when the bytes are UTF-8 (they go out unchanged), else Latin-1.
    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return Array(bytes).withUnsafeBytes { PythonText.latin1($0) }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// The response the fields describe: `Status:` (three digits from 200 to 599, then an optional
    /// reason), else 302 when there is a `Location:`, else 200. nil and a reason when `Status:` is
    /// malformed.
    func head() -> Result<Head, Malformed> {
        var status: Int?
        var reason: String?
        var hasLocation = false
        var hasContentLength = false
        var kept: [Field] = []
        for field in fields {
            switch field.name.lowercasedASCII() {
            case "status":
                let scalars = Array(field.value.unicodeScalars)
                guard scalars.count >= 3, scalars[0..<3].allSatisfy({ ("0"..."9").contains($0) }),
                      scalars.count == 3 || scalars[3] == " " || scalars[3] == "\t",
                      let code = Int(String(String.UnicodeScalarView(scalars[0..<3]))), (200...599).contains(code) else {
                    return .failure(Malformed(reason: "bad Status line \(PythonText.repr(field.value))"))
                }
                status = code
                let rest = String(String.UnicodeScalarView(scalars.dropFirst(3))).trimmingASCIISpaces()
                reason = rest.isEmpty ? nil : String(rest)
            case "location":
                hasLocation = true
                kept.append(field)
            case "content-length":
                guard !field.value.isEmpty, field.value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return .failure(Malformed(reason: "bad Content-Length \(PythonText.repr(field.value))"))
                }
                hasContentLength = true
                kept.append(field)
            case "connection", "keep-alive", "transfer-encoding":
                break   // the server frames the response and decides keep-alive
            default:
                kept.append(field)
            }
        }
        return .success(Head(status: status ?? (hasLocation ? 302 : 200), reason: reason, fields: kept,
                             hasContentLength: hasContentLength))
    }

    struct Malformed: Error, Equatable {
        var reason: String
    }
}
