/// Static 256-entry classification tables for the parser's inner loops.
///
/// Allocated once and never freed, so the hot loops index a raw pointer
/// without bounds checks or lazy-initialisation checks per byte.
enum ByteClass {
    /// tchar (RFC 9110 §5.6.2): a token byte.
    static let token: UInt8 = 1 << 0
    /// field-vchar, SP or HTAB (RFC 9110 §5.5): a byte allowed in a field value.
    static let fieldValue: UInt8 = 1 << 1
    /// VCHAR: a byte allowed in a request-target (no CTL, SP, DEL or byte ≥ 0x80: RFC 9112 §3.2
    /// builds every form from RFC 3986, whose characters are all ASCII).
    static let target: UInt8 = 1 << 2
    /// qdtext (RFC 9110 §5.6.4): allowed unescaped inside a quoted-string.
    static let quotedText: UInt8 = 1 << 3
    /// SP or HTAB.
    static let whitespace: UInt8 = 1 << 4
    /// unreserved / sub-delims (RFC 3986 §3.2.2): a reg-name byte other than a percent-encoding.
    static let regName: UInt8 = 1 << 5

    nonisolated(unsafe) static let table: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        t.initialize(repeating: 0, count: 256)
        for b in 0..<256 {
            var c: UInt8 = 0
            let isVisible = (0x21...0x7E).contains(b)
            let isObsText = b >= 0x80
            if isVisible && !"\"(),/:;<=>?@[\\]{}".utf8.contains(UInt8(b)) { c |= token }
            if isVisible || isObsText || b == 0x20 || b == 0x09 { c |= fieldValue }
            if isVisible { c |= target }
            if b == 0x09 || b == 0x20 || b == 0x21 || (0x23...0x5B).contains(b) || (0x5D...0x7E).contains(b) || isObsText {
                c |= quotedText
            }
            if b == 0x20 || b == 0x09 { c |= whitespace }
            if RequestParser.isUnreserved(UInt8(b)) || RequestParser.isSubDelim(UInt8(b)) { c |= regName }
            t[b] = c
        }
        return UnsafePointer(t)
    }()

    /// Hex digit value, or 0xFF for a byte that is not HEXDIG.
    nonisolated(unsafe) static let hexValue: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        t.initialize(repeating: 0xFF, count: 256)
        for b in 0..<10 { t[0x30 + b] = UInt8(b) }
        for b in 0..<6 { t[0x41 + b] = UInt8(10 + b); t[0x61 + b] = UInt8(10 + b) }
        return UnsafePointer(t)
    }()

    /// ASCII lowercase of every byte (other bytes map to themselves).
    nonisolated(unsafe) static let lowercase: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for b in 0..<256 { t[b] = (0x41...0x5A).contains(b) ? UInt8(b + 0x20) : UInt8(b) }
        return UnsafePointer(t)
    }()
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let sp = UInt8(ascii: " ")
    static let htab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let semicolon = UInt8(ascii: ";")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let asterisk = UInt8(ascii: "*")
}

extension ByteClass {
    /// Advances from `start` over bytes of `byteClass` (which must be every byte at or above
    /// `lowestValid` except DEL, plus possibly HTAB, and without bytes ≥ 0x80 unless
    /// `allowsHighBytes`) and returns the index of the first other byte, or `stop`. Eight bytes
    /// at a time while no byte is below `lowestValid`, DEL or (when not allowed) ≥ 0x80: field
    /// values and request-targets are long runs of ordinary bytes.
    @inline(__always)
    static func skip(_ p: UnsafePointer<UInt8>, from start: Int, to stop: Int, lowestValid: UInt8,
                     allowsHighBytes: Bool = true, byteClass: UInt8, table: UnsafePointer<UInt8>) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let low = ones &* UInt64(lowestValid)
        var j = start
        while true {
            while stop &- j >= 8 {
                let w = UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self)
                // Some byte < lowestValid (exact for lowestValid ≤ 0x80), or some byte == 0x7F.
                let below = (w &- low) & ~w & highs
                let x = w ^ (ones &* 0x7F)
                let del = (x &- ones) & ~x & highs
                let high = allowsHighBytes ? 0 : w & highs
                if below | del | high != 0 { break }
                j &+= 8
            }
            let wordEnd = min(stop, j &+ 8)
            while j < wordEnd && table[Int(p[j])] & byteClass != 0 { j &+= 1 }
            if j < wordEnd || j == stop { return j }
        }
    }
}
