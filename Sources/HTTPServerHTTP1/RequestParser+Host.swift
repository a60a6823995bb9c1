// The request-target's form, the Host field and the target's authority (RFC 9112 §3.2, §3.2.2,
// §3.2.3; RFC 9110 §4.2, §7.2; RFC 3986 §3.2):
//
//   Host       = uri-host [ ":" port ]
//   uri-host   = IP-literal / IPv4address / reg-name
//   IP-literal = "[" ( IPv6address / IPvFuture ) "]"
//   IPvFuture  = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
//   reg-name   = *( unreserved / pct-encoded / sub-delims )
//   port       = *DIGIT
//
// IPv4address is a subset of reg-name, so it needs no rule of its own. A Host that is not this
// (`exa mple.com`, `example.com/evil`, `user@example.com`, `a:b:c`) is a 400 (§3.2): a server that
// took such a value would route or log by a host the client never named.

extension RequestParser {
    /// RFC 9112 §3.2: the form of the request-target must fit the method.
    mutating func checkTargetForm(_ p: UnsafePointer<UInt8>) throws(ParseError) {
        let t = head.target
        let first = p[t.lowerBound]
        // No form has a fragment (origin-form = absolute-path [ "?" query ], absolute-form =
        // absolute-URI): a `#` is a client's error, and parsers that cut the target there and
        // parsers that do not see different targets.
        for i in t where p[i] == UInt8(ascii: "#") { throw .badRequestLine }
        if head.isConnect {
            // authority-form = uri-host ":" port (§3.2.3).
            guard Self.isValidAuthority(p, t, rule: .authorityForm) else { throw .badRequestLine }
            head.authority = t
            return
        }
        if first == .slash { return }  // origin-form (§3.2.1)
        if first == .asterisk {
            // asterisk-form is only for a server-wide OPTIONS (§3.2.4).
            guard t.count == 1, equals(p, head.method, "OPTIONS") else { throw .badRequestLine }
            return
        }
        // absolute-form (§3.2.2): scheme "://" ...; HTTP's schemes always have an authority,
        // which also tells `example.com:80` (authority-form, CONNECT only) apart.
        var i = t.lowerBound
        guard isAlpha(p[i]) else { throw .badRequestLine }
        i += 1
        while i < t.upperBound, isSchemeByte(p[i]) { i += 1 }
        guard t.upperBound - i >= 3, p[i] == .colon, p[i + 1] == .slash, p[i + 2] == .slash else {
            throw .badRequestLine
        }
        // The authority runs to the path, query or end (RFC 3986 §3.2). It must be
        // `uri-host [ ":" port ]`: userinfo is an error for http(s) (RFC 9110 §4.2.4), and an
        // http(s) URI with an empty host is invalid (§4.2.1). It is the request's authority,
        // whatever Host says (RFC 9112 §3.2.2).
        let authorityStart = i + 3
        var authorityEnd = authorityStart
        while authorityEnd < t.upperBound && p[authorityEnd] != .slash && p[authorityEnd] != UInt8(ascii: "?")
            && p[authorityEnd] != UInt8(ascii: "#") { authorityEnd += 1 }
        guard Self.isValidAuthority(p, authorityStart..<authorityEnd, rule: .absoluteForm) else {
            throw .badRequestLine
        }
        head.authority = authorityStart..<authorityEnd
    }

    @inline(__always)
    func isAlpha(_ b: UInt8) -> Bool {
        (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
    }

    @inline(__always)
    func isSchemeByte(_ b: UInt8) -> Bool {
        isAlpha(b) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    /// What an authority must have besides `uri-host [ ":" port ]`.
    enum AuthorityRule {
        /// A Host field value: the host may be empty (RFC 9110 §7.2 has a client send an empty
        /// Host when the target URI has no authority).
        case hostField
        /// The authority of an absolute-form `http`/`https` target: a host is required
        /// (RFC 9110 §4.2.1: an empty host "MUST" be rejected as invalid).
        case absoluteForm
        /// CONNECT's authority-form: `uri-host ":" port`, the port required (RFC 9112 §3.2.3).
        case authorityForm
    }

    /// Whether `range` of `p` is `uri-host [ ":" port ]` under `rule`.
    static func isValidAuthority(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, rule: AuthorityRule) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        let hostStart = i
        if i < end && p[i] == UInt8(ascii: "[") {
            var close = i + 1
            while close < end && p[close] != UInt8(ascii: "]") { close += 1 }
            guard close < end, isValidIPLiteral(p, (i + 1)..<close) else { return false }
            i = close + 1
        } else {
            let table = ByteClass.table
            while i < end {
                let b = p[i]
                if table[Int(b)] & ByteClass.regName != 0 {
                    i += 1
                } else if b == UInt8(ascii: "%") {
                    guard end - i >= 3, ByteClass.hexValue[Int(p[i + 1])] != 0xFF,
                          ByteClass.hexValue[Int(p[i + 2])] != 0xFF else { return false }
                    i += 3
                } else if b == .colon {
                    break
                } else {
                    return false
                }
            }
        }
        let hostIsEmpty = i == hostStart
        var hasPort = false
        if i < end {
            guard p[i] == .colon else { return false }  // `[::1]x`
            hasPort = true
            i += 1
            while i < end {
                guard p[i] >= 0x30 && p[i] <= 0x39 else { return false }
                i += 1
            }
        }
        switch rule {
        case .hostField: return true
        case .absoluteForm: return !hostIsEmpty
        case .authorityForm: return !hostIsEmpty && hasPort && p[end - 1] != .colon
        }
    }

    /// `IPv6address / IPvFuture`, the inside of `[...]`.
    static func isValidIPLiteral(_ p: UnsafePointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        if p[range.lowerBound] | 0x20 == UInt8(ascii: "v") {
            // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
            var i = range.lowerBound + 1
            let digits = i
            while i < range.upperBound && ByteClass.hexValue[Int(p[i])] != 0xFF { i += 1 }
            guard i > digits, i < range.upperBound, p[i] == UInt8(ascii: ".") else { return false }
            i += 1
            guard i < range.upperBound else { return false }
            while i < range.upperBound {
                let b = p[i]
                guard isUnreserved(b) || isSubDelim(b) || b == .colon else { return false }
                i += 1
            }
            return true
        }
        return isValidIPv6(p, range)
    }

    /// RFC 3986 §3.2.2 IPv6address: eight h16 groups, or fewer around one `::`; the last 32 bits
    /// may be written as an IPv4address.
    static func isValidIPv6(_ p: UnsafePointer<UInt8>, _ range: Range<Int>) -> Bool {
        var groups = 0
        var sawDoubleColon = false
        var i = range.lowerBound
        let end = range.upperBound
        if end - i >= 2 && p[i] == .colon && p[i + 1] == .colon {
            sawDoubleColon = true
            i += 2
            if i == end { return true }  // "::"
        } else if i < end && p[i] == .colon {
            return false  // a single leading colon
        }
        while i < end {
            // One group: 1-4 hex digits, or an IPv4address as the last 32 bits.
            let start = i
            while i < end && ByteClass.hexValue[Int(p[i])] != 0xFF && i - start < 5 { i += 1 }
            if i < end && p[i] == UInt8(ascii: ".") {
                guard isValidIPv4(p, start..<end) else { return false }
                groups += 2
                i = end
                break
            }
            guard i > start, i - start <= 4 else { return false }
            groups += 1
            if i == end { break }
            guard p[i] == .colon else { return false }
            i += 1
            if i < end && p[i] == .colon {
                guard !sawDoubleColon else { return false }
                sawDoubleColon = true
                i += 1
                if i == end { break }
            } else if i == end {
                return false  // a trailing single colon
            }
        }
        return sawDoubleColon ? groups <= 7 : groups == 8
    }

    /// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet (no leading zeros).
    static func isValidIPv4(_ p: UnsafePointer<UInt8>, _ range: Range<Int>) -> Bool {
        var octets = 0
        var i = range.lowerBound
        while true {
            let start = i
            var value = 0
            while i < range.upperBound && p[i] >= 0x30 && p[i] <= 0x39 && i - start < 3 {
                value = value * 10 + Int(p[i] - 0x30)
                i += 1
            }
            let digits = i - start
            guard digits > 0, value <= 255, digits == 1 || p[start] != 0x30 else { return false }
            octets += 1
            if octets == 4 { return i == range.upperBound }
            guard i < range.upperBound, p[i] == UInt8(ascii: ".") else { return false }
            i += 1
        }
    }

    /// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        let lower = b | 0x20
        return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
    }

    /// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
    @inline(__always)
    static func isSubDelim(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), .comma, .semicolon, .equals:
            return true
        default:
            return false
        }
    }
}
