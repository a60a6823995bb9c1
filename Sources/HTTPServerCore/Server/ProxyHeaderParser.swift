import Glibc
import HTTPServerReactor

/// What a PROXY protocol header (HAProxy's specification, versions 1 and 2) says about the
/// connection it opens.
public struct ProxyHeader: Sendable, Equatable {
    /// 1 for the text header (`PROXY TCP4 ...\r\n`), 2 for the binary one.
    public var version: Int
    /// The client as the proxy saw it; nil when the header carries no address (v1 `UNKNOWN`, v2
    /// `LOCAL` or an unspecified or UNIX family): the connection's own address is kept then.
    public var source: SocketAddress?
    /// The address the client connected to, at the proxy; nil as for `source`.
    public var destination: SocketAddress?

    /// A header of `version` carrying `source` and `destination`.
    public init(version: Int, source: SocketAddress?, destination: SocketAddress?) {
        self.version = version
        self.source = source
        self.destination = destination
    }
}

/// Why a PROXY protocol header was refused. The connection is closed with nothing served.
public struct ProxyHeaderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure; new ones may be added.
    public enum Kind: Sendable, Hashable {
        /// The first bytes are neither `PROXY ` nor the version 2 signature.
        case missing
        /// The header breaks the specification's grammar.
        case malformed
        /// Longer than the limit (107 bytes for version 1; `maxVersion2Length` for version 2).
        case oversized
    }
    /// What was wrong with the header.
    public var kind: Kind
    /// An error of `kind`.
    public init(_ kind: Kind) { self.kind = kind }
    /// `PROXY protocol header malformed`, and so on.
    public var description: String { "PROXY protocol header \(kind)" }
}

/// An incremental parser of one PROXY protocol header, version 1 or 2, at the start of a stream.
///
/// Pure: it does no I/O and reads no clock. Feed it what arrives, split anywhere; it answers
/// `.needMore` until the header is complete, then `.complete(header, consumed:)` where `consumed`
/// is how many bytes of the last call belong to the header (the rest is the client's first bytes
/// of HTTP). A header is at most 107 bytes in version 1 and `maxVersion2Length` in version 2, so
/// it is copied as it arrives.
public struct ProxyHeaderParser: Sendable {
    /// What a call to `parse(_:)` found.
    public enum Step: Sendable, Equatable {
        /// The header is not complete yet.
        case needMore
        /// The header ends `consumed` bytes into the buffer of this call.
        case complete(ProxyHeader, consumed: Int)
    }

    /// The specification's longest version 1 header, CRLF included.
    public static let maxVersion1Length = 107
    /// The version 2 signature: `\r\n\r\n\0\r\nQUIT\n`.
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    static let version1Prefix: [UInt8] = Array("PROXY ".utf8)

    /// The longest version 2 header accepted (16 fixed bytes, addresses and TLVs). The format
    /// allows 65 551; HAProxy sends far less, and a server need not buffer more than it uses.
    public var maxVersion2Length: Int

    private var header: [UInt8] = []
    private var failure: ProxyHeaderError?

    /// A parser waiting for the first byte of a stream.
    public init(maxVersion2Length: Int = 4096) {
        self.maxVersion2Length = maxVersion2Length
    }

    /// Bytes of the header received so far (0 before the first byte).
    public var bufferedCount: Int { header.count }

    /// Reads `bytes`, the next part of the stream. After an error or `.complete`, every further
    /// call fails.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(ProxyHeaderError) -> Step {
        if let failure { throw failure }
        for index in 0..<bytes.count {
            let byte = bytes[index]
            header.append(byte)
            let step: Step
            do throws(ProxyHeaderError) {
                step = try advance(byte)
            } catch {
                failure = error
                header = []
                throw error
            }
            if case .complete(let result, _) = step {
                failure = ProxyHeaderError(.malformed)  // one header per stream
                header = []
                return .complete(result, consumed: index + 1)
            }
        }
        return .needMore
    }

    /// Checks the byte just appended to `header`.
    private func advance(_ byte: UInt8) throws(ProxyHeaderError) -> Step {
        let count = header.count
        switch header[0] {
        case UInt8(ascii: "P"):
            if count <= Self.version1Prefix.count {
                guard byte == Self.version1Prefix[count - 1] else { throw ProxyHeaderError(.missing) }
                return .needMore
            }
            if byte == UInt8(ascii: "\n") {
                guard header[count - 2] == UInt8(ascii: "\r") else { throw ProxyHeaderError(.malformed) }
                return .complete(try Self.parseVersion1(header[..<(count - 2)]), consumed: 0)
            }
            if count >= Self.maxVersion1Length { throw ProxyHeaderError(.oversized) }
            return .needMore
        case Self.signature[0]:
            if count <= Self.signature.count {
                guard byte == Self.signature[count - 1] else { throw ProxyHeaderError(.missing) }
                return .needMore
            }
            if count < 16 { return .needMore }
            let total = 16 + (Int(header[14]) << 8 | Int(header[15]))
            if total > maxVersion2Length { throw ProxyHeaderError(.oversized) }
            if count < total { return .needMore }
            return .complete(try Self.parseVersion2(header), consumed: 0)
        default:
            throw ProxyHeaderError(.missing)
        }
    }

    /// `PROXY TCP4 <src> <dst> <sport> <dport>` (no CRLF), or `PROXY UNKNOWN[ anything]`.
    static func parseVersion1(_ line: ArraySlice<UInt8>) throws(ProxyHeaderError) -> ProxyHeader {
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count >= 2, fields[0].elementsEqual("PROXY".utf8) else { throw ProxyHeaderError(.malformed) }
        if fields[1].elementsEqual("UNKNOWN".utf8) {
            return ProxyHeader(version: 1, source: nil, destination: nil)
        }
        let family: Int32
        if fields[1].elementsEqual("TCP4".utf8) {
            family = AF_INET
        } else if fields[1].elementsEqual("TCP6".utf8) {
            family = AF_INET6
        } else {
            throw ProxyHeaderError(.malformed)
        }
        guard fields.count == 6,
              let sourcePort = port(fields[4]), let destinationPort = port(fields[5]),
              let source = address(fields[2], family: family, port: sourcePort),
              let destination = address(fields[3], family: family, port: destinationPort)
        else { throw ProxyHeaderError(.malformed) }
        return ProxyHeader(version: 1, source: source, destination: destination)
    }

    /// A decimal port, 0...65535, without a leading zero (the specification's form).
    static func port(_ digits: ArraySlice<UInt8>) -> Int? {
        guard (1...5).contains(digits.count), digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 65535 ? value : nil
    }

    /// A numeric address of `family` (inet_pton: no names, no IPv4 in a TCP6 line unless mapped).
    static func address(_ text: ArraySlice<UInt8>, family: Int32, port: Int) -> SocketAddress? {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        let string = String(decoding: text, as: UTF8.self)
        guard string.contains(":") == (family == AF_INET6) else { return nil }
        return try? SocketAddress(ip: string, port: port)
    }

    /// The 16 fixed bytes, then the addresses (and TLVs, which are skipped).
    static func parseVersion2(_ header: [UInt8]) throws(ProxyHeaderError) -> ProxyHeader {
        let versionAndCommand = header[12]
        guard versionAndCommand >> 4 == 2 else { throw ProxyHeaderError(.malformed) }
        let command = versionAndCommand & 0x0F
        guard command <= 1 else { throw ProxyHeaderError(.malformed) }
        let family = header[13] >> 4
        let transport = header[13] & 0x0F
        guard family <= 3, transport <= 2 else { throw ProxyHeaderError(.malformed) }
        let body = header[16...]
        // LOCAL: the proxy's own connection (a health check): the real addresses stand.
        if command == 0 { return ProxyHeader(version: 2, source: nil, destination: nil) }
        switch family {
        case 1:  // AF_INET: 4 + 4 + 2 + 2
            guard body.count >= 12 else { throw ProxyHeaderError(.malformed) }
            let base = body.startIndex
            return ProxyHeader(
                version: 2,
                source: inet(header[base..<(base + 4)], port: header[(base + 8)..<(base + 10)]),
                destination: inet(header[(base + 4)..<(base + 8)], port: header[(base + 10)..<(base + 12)]))
        case 2:  // AF_INET6: 16 + 16 + 2 + 2
            guard body.count >= 36 else { throw ProxyHeaderError(.malformed) }
            let base = body.startIndex
            return ProxyHeader(
                version: 2,
                source: inet6(header[base..<(base + 16)], port: header[(base + 32)..<(base + 34)]),
                destination: inet6(header[(base + 16)..<(base + 32)], port: header[(base + 34)..<(base + 36)]))
        default:
            // AF_UNSPEC or AF_UNIX: nothing an IP log line can use; the real addresses stand.
            return ProxyHeader(version: 2, source: nil, destination: nil)
        }
    }

    static func inet(_ bytes: ArraySlice<UInt8>, port: ArraySlice<UInt8>) -> SocketAddress {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_INET), toByteOffset: 0, as: sa_family_t.self)
            raw[2] = port[port.startIndex]
            raw[3] = port[port.startIndex + 1]
            for (i, byte) in bytes.enumerated() { raw[4 + i] = byte }  // sin_addr, network order
        }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    static func inet6(_ bytes: ArraySlice<UInt8>, port: ArraySlice<UInt8>) -> SocketAddress {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_INET6), toByteOffset: 0, as: sa_family_t.self)
            raw[2] = port[port.startIndex]
            raw[3] = port[port.startIndex + 1]
            for (i, byte) in bytes.enumerated() { raw[8 + i] = byte }  // sin6_addr after flowinfo
        }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
    }
}
