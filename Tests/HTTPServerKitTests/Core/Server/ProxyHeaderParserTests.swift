import HTTPServerKit
import HTTPServerReactor
import Testing

/// The PROXY protocol header parser, fed every case whole, split at every index and one byte at a
/// time: all three must agree.
@Suite struct ProxyHeaderParserTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        /// Source host and port, nil for a header without addresses; ignored for failures.
        var source: (String, Int)?
        var version = 1
        var error: ProxyHeaderError.Kind?
        var testDescription: String { name }
    }

    static func v2(command: UInt8 = 0x21, family: UInt8, body: [UInt8]) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, command, family,
         UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let v4Body: [UInt8] = [203, 0, 113, 7, 10, 0, 0, 1, 0xC3, 0x50, 0x1F, 0x90]  // :50000 → :8080
    static let v6Body: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        + [UInt8](repeating: 0, count: 15) + [2] + [0x30, 0x39, 0x00, 0x50]  // [2001:db8::1]:12345 → [::2]:80

    static let valid: [Case] = [
        Case(name: "v1 TCP4", bytes: bytes("PROXY TCP4 192.0.2.1 10.0.0.1 56324 8080\r\n"), source: ("192.0.2.1", 56324)),
        Case(name: "v1 TCP6", bytes: bytes("PROXY TCP6 2001:db8::5 ::1 443 80\r\n"), source: ("2001:db8::5", 443)),
        Case(name: "v1 UNKNOWN", bytes: bytes("PROXY UNKNOWN\r\n"), source: nil),
        Case(name: "v1 UNKNOWN with addresses", bytes: bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), source: nil),
        Case(name: "v1 port 0", bytes: bytes("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n"), source: ("1.2.3.4", 0)),
        Case(name: "v2 TCP4", bytes: v2(family: 0x11, body: v4Body), source: ("203.0.113.7", 50000), version: 2),
        Case(name: "v2 TCP6", bytes: v2(family: 0x21, body: v6Body), source: ("2001:db8::1", 12345), version: 2),
        Case(name: "v2 TCP4 with TLVs", bytes: v2(family: 0x11, body: v4Body + [0x04, 0x00, 0x02, 0xAB, 0xCD]),
             source: ("203.0.113.7", 50000), version: 2),
        Case(name: "v2 LOCAL", bytes: v2(command: 0x20, family: 0x00, body: []), source: nil, version: 2),
        Case(name: "v2 UNSPEC", bytes: v2(family: 0x00, body: []), source: nil, version: 2),
        Case(name: "v2 UNIX", bytes: v2(family: 0x31, body: [UInt8](repeating: 0, count: 216)), source: nil, version: 2),
    ]

    static let invalid: [Case] = [
        Case(name: "an HTTP request", bytes: bytes("GET / HTTP/1.1\r\n"), error: .missing),
        Case(name: "lower case", bytes: bytes("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), error: .missing),
        Case(name: "v1 bare LF", bytes: bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), error: .malformed),
        Case(name: "v1 unknown family", bytes: bytes("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), error: .malformed),
        Case(name: "v1 double space", bytes: bytes("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), error: .malformed),
        Case(name: "v1 missing port", bytes: bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), error: .malformed),
        Case(name: "v1 port too big", bytes: bytes("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), error: .malformed),
        Case(name: "v1 leading zero", bytes: bytes("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), error: .malformed),
        Case(name: "v1 IPv6 in TCP4", bytes: bytes("PROXY TCP4 ::1 ::1 1 2\r\n"), error: .malformed),
        Case(name: "v1 name for address", bytes: bytes("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), error: .malformed),
        Case(name: "v1 oversized", bytes: bytes("PROXY UNKNOWN " + String(repeating: "x", count: 120) + "\r\n"),
             error: .oversized),
        Case(name: "v2 bad signature", bytes: [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B],
             error: .missing),
        Case(name: "v2 version 3", bytes: v2(command: 0x31, family: 0x11, body: v4Body), error: .malformed),
        Case(name: "v2 command 2", bytes: v2(command: 0x22, family: 0x11, body: v4Body), error: .malformed),
        Case(name: "v2 short addresses", bytes: v2(family: 0x11, body: Array(v4Body.prefix(8))), error: .malformed),
        Case(name: "v2 family 4", bytes: v2(family: 0x41, body: v4Body), error: .malformed),
        Case(name: "v2 oversized", bytes: v2(family: 0x11, body: v4Body + [UInt8](repeating: 0, count: 5000)),
             error: .oversized),
    ]

    /// Every way of delivering `bytes` + a trailing request: whole, split at each index, bytewise.
    static func deliveries(of count: Int) -> [[Range<Int>]] {
        var all: [[Range<Int>]] = [[0..<count]]
        for split in 1..<count { all.append([0..<split, split..<count]) }
        all.append((0..<count).map { $0..<($0 + 1) })
        return all
    }

    @Test(arguments: valid) func validHeaderIsParsedAndLeavesTheRestAlone(_ c: Case) throws {
        let trailer = bytes("GET / HTTP/1.1\r\n\r\n")
        let stream = c.bytes + trailer
        for pieces in Self.deliveries(of: stream.count) {
            var parser = ProxyHeaderParser()
            var result: (ProxyHeader, leftover: [UInt8])?
            for piece in pieces {
                let chunk = Array(stream[piece])
                if let found = result { result = (found.0, found.leftover + chunk); continue }
                let step = try chunk.withUnsafeBytes { try parser.parse($0) }
                if case .complete(let header, let consumed) = step { result = (header, Array(chunk[consumed...])) }
            }
            let (header, leftover) = try #require(result, "\(c.name): \(pieces.count) pieces")
            #expect(leftover == trailer, "\(c.name): \(pieces.count) pieces")
            #expect(header.version == c.version)
            if let (host, port) = c.source {
                #expect(header.source?.host == host)
                #expect(header.source?.port == port)
            } else {
                #expect(header.source == nil)
            }
        }
    }

    @Test(arguments: invalid) func invalidHeaderFailsHoweverItIsSplit(_ c: Case) {
        for pieces in Self.deliveries(of: c.bytes.count) {
            var parser = ProxyHeaderParser()
            var failure: ProxyHeaderError?
            for piece in pieces where failure == nil {
                let chunk = Array(c.bytes[piece])
                do {
                    let step = try chunk.withUnsafeBytes { try parser.parse($0) }
                    #expect(step == .needMore, "\(c.name): completed")
                } catch {
                    failure = error as? ProxyHeaderError
                }
            }
            #expect(failure?.kind == c.error, "\(c.name): \(pieces.count) pieces")
        }
    }

    @Test func truncatedHeaderNeedsMore() throws {
        for c in Self.valid {
            var parser = ProxyHeaderParser()
            let step = try Array(c.bytes.dropLast()).withUnsafeBytes { try parser.parse($0) }
            #expect(step == .needMore, "\(c.name)")
        }
    }

    @Test func trustedNetworksMatchByPrefix() throws {
        let network = try #require(IPNetwork("10.1.0.0/16"))
        #expect(network.contains(try SocketAddress(ip: "10.1.200.3", port: 1)))
        #expect(!network.contains(try SocketAddress(ip: "10.2.0.1", port: 1)))
        #expect(network.contains(try SocketAddress(ip: "::ffff:10.1.0.9", port: 1)))
        let one = try #require(IPNetwork("127.0.0.1"))
        #expect(one.contains(try SocketAddress(ip: "127.0.0.1", port: 9)))
        #expect(!one.contains(try SocketAddress(ip: "127.0.0.2", port: 9)))
        let v6 = try #require(IPNetwork("2001:db8::/33"))
        #expect(v6.contains(try SocketAddress(ip: "2001:db8:7fff::1", port: 1)))
        #expect(!v6.contains(try SocketAddress(ip: "2001:db8:8000::1", port: 1)))
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("example.com") == nil)
        #expect(IPNetwork("10.0.0.0/") == nil)
    }
}
