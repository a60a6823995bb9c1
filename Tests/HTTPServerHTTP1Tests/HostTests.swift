import HTTPServerHTTP1
import Testing

/// RFC 9112 §3.2 and RFC 9110 §7.2: "A server MUST respond with a 400 (Bad Request) status code to
/// any HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid field
/// value." Host = uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3). Each case is fed whole, split at
/// every index and byte by byte, under the default limits.
struct HostCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    /// nil: accepted; the authority it has (nil: none).
    var isAccepted: Bool
    var authority: String? = nil
    var testDescription: String { name }
}

private func accepted(_ name: String, _ raw: String, authority: String?) -> HostCase {
    HostCase(name: name, raw: raw, isAccepted: true, authority: authority)
}

private func rejected(_ name: String, _ raw: String) -> HostCase {
    HostCase(name: name, raw: raw, isAccepted: false)
}

private func withHost(_ value: String, version: String = "HTTP/1.1") -> String {
    "GET / \(version)\r\nHost: \(value)\r\n\r\n"
}

let hostCases: [HostCase] = [
    // Presence and count.
    rejected("http11WithoutHost", "GET / HTTP/1.1\r\n\r\n"),
    rejected("http12WithoutHost", "GET / HTTP/1.2\r\n\r\n"),
    accepted("http10WithoutHost", "GET / HTTP/1.0\r\n\r\n", authority: nil),
    accepted("http09HasNoHeaders", "GET /\r\n", authority: nil),
    rejected("twoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    rejected("twoHostsHTTP10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
    rejected("twoHostsCaseFolded", "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n"),
    // Valid values.
    accepted("regName", withHost("example.com"), authority: "example.com"),
    accepted("regNameWithPort", withHost("example.com:8080"), authority: "example.com:8080"),
    accepted("emptyPortAllowedByGrammar", withHost("example.com:"), authority: "example.com:"),
    accepted("emptyValue", "GET / HTTP/1.1\r\nHost:\r\n\r\n", authority: ""),
    accepted("emptyValueWithSpaces", "GET / HTTP/1.1\r\nHost:   \r\n\r\n", authority: ""),
    accepted("ipv4", withHost("127.0.0.1:80"), authority: "127.0.0.1:80"),
    accepted("ipv6", withHost("[::1]:8000"), authority: "[::1]:8000"),
    accepted("ipv6Full", withHost("[2001:db8:0:0:0:0:2:1]"), authority: "[2001:db8:0:0:0:0:2:1]"),
    accepted("ipv6WithIPv4", withHost("[::ffff:192.0.2.1]"), authority: "[::ffff:192.0.2.1]"),
    accepted("ipvFuture", withHost("[v1.fe80::a+en1]"), authority: "[v1.fe80::a+en1]"),
    accepted("pctEncodedAndSubDelims", withHost("ex%41mple!$&'()*+,;=-._~"), authority: "ex%41mple!$&'()*+,;=-._~"),
    accepted("surroundingWhitespaceIsOWS", "GET / HTTP/1.1\r\nHost: \t a.b \t\r\n\r\n", authority: "a.b"),
    accepted("http10WithHost", withHost("a.b", version: "HTTP/1.0"), authority: "a.b"),
    // Invalid values: not uri-host [ ":" port ].
    rejected("innerSpace", withHost("exa mple.com")),
    rejected("path", withHost("example.com/evil")),
    rejected("userinfo", withHost("user@example.com")),
    rejected("twoColons", withHost("a:b:c")),
    rejected("nonNumericPort", withHost("example.com:80a")),
    rejected("query", withHost("example.com?x")),
    rejected("fragment", withHost("example.com#x")),
    rejected("backslash", withHost("example.com\\evil")),
    rejected("comma", withHost("a.com, b.com") ),
    rejected("badPctEncoding", withHost("ex%4gmple")),
    rejected("truncatedPctEncoding", withHost("example%4")),
    rejected("obsText", "GET / HTTP/1.1\r\nHost: ex\u{e9}mple\r\n\r\n"),
    rejected("ipv6Unbracketed", withHost("::1")),
    rejected("ipv6Unclosed", withHost("[::1")),
    rejected("ipv6JunkAfterBracket", withHost("[::1]x")),
    rejected("ipv6BadGroup", withHost("[1:2:3:4:5:6:7:12345]")),
    rejected("ipv6TooManyGroups", withHost("[1:2:3:4:5:6:7:8:9]")),
    rejected("ipv6TwoDoubleColons", withHost("[1::2::3]")),
    rejected("ipv6BadIPv4", withHost("[::ffff:1.2.3.256]")),
    rejected("ipv6NotHex", withHost("[::g]")),
    rejected("ipvFutureEmpty", withHost("[v1.]")),
    rejected("bracketsInRegName", withHost("a[b]")),
    rejected("invalidHostHTTP10", withHost("a b", version: "HTTP/1.0")),
    // absolute-form (§3.2.2): the target's authority wins; Host still required in HTTP/1.1.
    accepted("absoluteFormAuthorityWins", "GET http://target.example:81/x HTTP/1.1\r\nHost: other.example\r\n\r\n",
             authority: "target.example:81"),
    accepted("absoluteFormEmptyHostField", "GET http://target.example/x HTTP/1.1\r\nHost:\r\n\r\n",
             authority: "target.example"),
    accepted("absoluteFormWithQueryOnly", "GET http://t.example?q HTTP/1.1\r\nHost: t.example\r\n\r\n",
             authority: "t.example"),
    accepted("absoluteFormHTTP10WithoutHost", "GET http://t.example/ HTTP/1.0\r\n\r\n", authority: "t.example"),
    rejected("absoluteFormWithoutHost", "GET http://target.example/x HTTP/1.1\r\n\r\n"),
    rejected("absoluteFormInvalidHostField", "GET http://target.example/x HTTP/1.1\r\nHost: a b\r\n\r\n"),
    rejected("absoluteFormTwoHosts", "GET http://t.example/x HTTP/1.1\r\nHost: t.example\r\nHost: t.example\r\n\r\n"),
    rejected("absoluteFormUserinfo", "GET http://user@t.example/x HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    rejected("absoluteFormEmptyAuthority", "GET http:///x HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    rejected("absoluteFormBadPort", "GET http://t.example:8x/ HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    // authority-form (CONNECT, §3.2.3): uri-host ":" port.
    accepted("connect", "CONNECT t.example:443 HTTP/1.1\r\nHost: t.example:443\r\n\r\n", authority: "t.example:443"),
    accepted("connectIPv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", authority: "[::1]:443"),
    rejected("connectWithoutPort", "CONNECT t.example HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    rejected("connectEmptyPort", "CONNECT t.example: HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    rejected("connectUserinfo", "CONNECT u@t.example:443 HTTP/1.1\r\nHost: t.example\r\n\r\n"),
    rejected("connectWithoutHost", "CONNECT t.example:443 HTTP/1.1\r\n\r\n"),
]

@Suite struct HostTests {
    @Test(arguments: hostCases)
    func hostRule(_ c: HostCase) {
        let raw = latin1Bytes(c.raw)
        let outcome = ParserDriver.allWays(raw, limits: ParserLimits())
        if c.isAccepted {
            #expect(outcome.error == nil, "\(c.name): \(outcome)")
            #expect(outcome.messages.count == 1, "\(c.name)")
        } else {
            #expect(outcome.error?.status == 400, "\(c.name): \(outcome)")
            #expect(outcome.messages.isEmpty, "\(c.name)")
        }
        guard c.isAccepted else { return }
        // The authority, read from the parser directly.
        var parser = RequestParser()
        let authority: String?? = raw.withUnsafeBytes { buffer -> String?? in
            guard case .head? = try? parser.parse(buffer) else { return .none }
            return .some(parser.head.authority.map { String(decoding: buffer[$0], as: UTF8.self) })
        }
        #expect(authority == .some(c.authority), "\(c.name)")
    }

    /// Python's behaviour stays available: without `requireHost`, an HTTP/1.1 request without
    /// Host is served; two Hosts or an invalid one are still a 400.
    @Test func requireHostOffAcceptsAMissingHostOnly() {
        var limits = ParserLimits()
        limits.requireHost = false
        #expect(ParserDriver.allWays(latin1Bytes("GET / HTTP/1.1\r\n\r\n"), limits: limits).messages.count == 1)
        #expect(ParserDriver.allWays(latin1Bytes(withHost("a b")), limits: limits).error?.kind == .badHost)
        #expect(ParserDriver.allWays(latin1Bytes("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), limits: limits)
            .error?.kind == .badHost)
    }
}
