import Glibc
import HTTPServerReactor

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`; a bare address is
/// a network of one). Used to say which peers may send a PROXY protocol header.
///
/// IPv4 networks also match IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`), as a dual-stack
/// listening socket reports IPv4 clients.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The address as 16 bytes (IPv4 as `::ffff:a.b.c.d`), host bits cleared.
    private let bytes: [UInt8]
    /// Leading bits that must match, counted in the 16-byte form.
    private let prefixLength: Int
    /// The text it was made from, normalised.
    public let description: String

    /// Parses `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        let isIPv6 = addressText.contains(":")
        let width = isIPv6 ? 128 : 32
        var length = width
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...width).contains(n), parts[1].allSatisfy(\.isASCII) else { return nil }
            length = n
        }
        guard let address = try? SocketAddress(ip: addressText, port: 0) else { return nil }
        var bytes = Self.bytes(of: address)
        let total = isIPv6 ? length : length + 96
        for bit in total..<128 { bytes[bit / 8] &= ~(UInt8(0x80) >> UInt8(bit % 8)) }
        self.bytes = bytes
        self.prefixLength = total
        self.description = "\(addressText)/\(length)"
    }

    /// Whether `address` lies in this network.
    public func contains(_ address: SocketAddress) -> Bool {
        let other = Self.bytes(of: address)
        var bit = 0
        while bit + 8 <= prefixLength {
            if other[bit / 8] != bytes[bit / 8] { return false }
            bit += 8
        }
        if bit < prefixLength {
            let mask = UInt8(0xFF) << UInt8(8 - (prefixLength - bit))
            if other[bit / 8] & mask != bytes[bit / 8] { return false }
        }
        return true
    }

    /// 16 bytes: an IPv6 address as it is, an IPv4 one mapped (`::ffff:a.b.c.d`).
    static func bytes(of address: SocketAddress) -> [UInt8] {
        withUnsafeBytes(of: address.storage) { raw in
            if address.isIPv6 { return Array(raw[8..<24]) }
            return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + Array(raw[4..<8])
        }
    }
}
