import CHTTPServerReactor

/// An IPv4 or IPv6 socket address: a `sockaddr_storage` and its length.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The raw address, as the kernel fills it in (accept, getsockname) or getaddrinfo returns it.
    public private(set) var storage: sockaddr_storage
    /// The meaningful length of `storage`.
    public private(set) var length: socklen_t

    /// Wraps a raw address (e.g. from `accept` or `getsockname`).
    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// A numeric IPv4 or IPv6 address ("127.0.0.1", "::1"); no name lookup.
    public init(ip: String, port: Int) throws(SystemError) {
        var storage = sockaddr_storage()
        if port < 0 || port > 65535 { throw SystemError(call: "inet_pton", errno: EINVAL) }
        let bigEndianPort = in_port_t(UInt16(port).bigEndian)
        if ip.contains(":") {
            let sin6 = creactor_sockaddr_in6_mut(&storage)!
            sin6.pointee.sin6_family = sa_family_t(AF_INET6)
            sin6.pointee.sin6_port = bigEndianPort
            guard inet_pton(AF_INET6, ip, &sin6.pointee.sin6_addr) == 1 else {
                throw SystemError(call: "inet_pton", errno: EINVAL)
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            let sin = creactor_sockaddr_in_mut(&storage)!
            sin.pointee.sin_family = sa_family_t(AF_INET)
            sin.pointee.sin_port = bigEndianPort
            guard inet_pton(AF_INET, ip, &sin.pointee.sin_addr) == 1 else {
                throw SystemError(call: "inet_pton", errno: EINVAL)
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }

    /// AF_INET or AF_INET6.
    public var family: Int32 { Int32(storage.ss_family) }

    /// Whether the address is IPv6 (AF_INET6); otherwise it is IPv4.
    public var isIPv6: Bool { family == AF_INET6 }

    /// Numeric host, e.g. "127.0.0.1" or "::1" (inet_ntop for IPv6). IPv4 is formatted here: at
    /// most 15 bytes, a Swift small string, so no allocation and no printf for every accepted client.
    public var host: String {
        if !isIPv6 { return Self.dottedQuad(ipv4BigEndian) }
        var copy = storage
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
            let base = buffer.baseAddress!
            let result: UnsafePointer<CChar>?
            if isIPv6 {
                result = withUnsafePointer(to: &creactor_sockaddr_in6_mut(&copy)!.pointee.sin6_addr) {
                    inet_ntop(AF_INET6, $0, base, socklen_t(buffer.count))
                }
            } else {
                result = withUnsafePointer(to: &creactor_sockaddr_in_mut(&copy)!.pointee.sin_addr) {
                    inet_ntop(AF_INET, $0, base, socklen_t(buffer.count))
                }
            }
            return result == nil ? "?" : String(cString: base)
        }
    }

    /// The IPv4 address as stored (network byte order); meaningless for IPv6.
    private var ipv4BigEndian: UInt32 {
        withUnsafePointer(to: storage) { creactor_sockaddr_in($0)!.pointee.sin_addr.s_addr }
    }

    /// "a.b.c.d" from an address in network byte order.
    static func dottedQuad(_ bigEndianAddress: UInt32) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { buffer in
            var count = 0
            for index in 0..<4 {
                // In memory the address is in network order: the first byte is the first number.
                let octet = Int((bigEndianAddress >> (8 * UInt32(index))) & 0xFF)
                if index > 0 { buffer[count] = UInt8(ascii: "."); count += 1 }
                if octet >= 100 { buffer[count] = UInt8(48 + octet / 100); count += 1 }
                if octet >= 10 { buffer[count] = UInt8(48 + octet / 10 % 10); count += 1 }
                buffer[count] = UInt8(48 + octet % 10)
                count += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// The port number, in host byte order, e.g. 8000.
    public var port: Int {
        withUnsafePointer(to: storage) { pointer in
            isIPv6 ? Int(UInt16(bigEndian: creactor_sockaddr_in6(pointer)!.pointee.sin6_port))
                   : Int(UInt16(bigEndian: creactor_sockaddr_in(pointer)!.pointee.sin_port))
        }
    }

    /// "127.0.0.1:8000" or "[::1]:8000".
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Calls `body` with a `sockaddr` pointer and length, for bind/connect.
    public func withSockAddr<R, E: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R
    ) throws(E) -> R {
        var copy = storage
        return try body(creactor_sockaddr(&copy)!, length)
    }

    /// Family, port and address bytes (and IPv6 scope): what makes two addresses the same endpoint.
    private var identity: (family: Int32, port: Int, bytes: [UInt8], scope: UInt32) {
        var copy = storage
        if isIPv6 {
            let sin6 = creactor_sockaddr_in6_mut(&copy)!
            let bytes = withUnsafeBytes(of: &sin6.pointee.sin6_addr) { Array($0) }
            return (family, port, bytes, sin6.pointee.sin6_scope_id)
        }
        let sin = creactor_sockaddr_in_mut(&copy)!
        let bytes = withUnsafeBytes(of: &sin.pointee.sin_addr) { Array($0) }
        return (family, port, bytes, 0)
    }

    /// Whether `a` and `b` are the same endpoint: family, port, address bytes and IPv6 scope, whatever
    /// else `sockaddr_storage` holds.
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        let x = a.identity, y = b.identity
        return x.family == y.family && x.port == y.port && x.bytes == y.bytes && x.scope == y.scope
    }

    /// Hashes the endpoint that `==` compares.
    public func hash(into hasher: inout Hasher) {
        let x = identity
        hasher.combine(x.family)
        hasher.combine(x.port)
        hasher.combine(x.bytes)
        hasher.combine(x.scope)
    }

    /// getaddrinfo for TCP: numeric IPs or host names ("localhost"); "" means the wildcard
    /// addresses when `passive` (for bind) and loopback otherwise. Results come in getaddrinfo's
    /// order (RFC 6724 / gai.conf), duplicates removed.
    /// Errors: `SystemError(call: "getaddrinfo", ...)` with the `gai_strerror` text in `detail`.
    public static func resolve(host: String, port: Int, passive: Bool) throws(SystemError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = host.isEmpty
            ? getaddrinfo(nil, String(port), &hints, &list)
            : getaddrinfo(host, String(port), &hints, &list)
        if status != 0 {
            if status == creactor_eai_system() {
                throw SystemError(call: "getaddrinfo", errno: creactor_errno())
            }
            throw SystemError(call: "getaddrinfo", errno: status, detail: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var result: [SocketAddress] = []
        var cursor = list
        while let info = cursor {
            cursor = info.pointee.ai_next
            let family = info.pointee.ai_family
            guard family == AF_INET || family == AF_INET6, let raw = info.pointee.ai_addr else { continue }
            var storage = sockaddr_storage()
            let length = min(Int(info.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: length))
            }
            let address = SocketAddress(storage: storage, length: socklen_t(length))
            if !result.contains(address) { result.append(address) }
        }
        return result
    }

    /// getsockname(2): the local address of a socket (after bind to port 0, the chosen port).
    public static func local(of fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try systemCall("getsockname") { getsockname(fd, creactor_sockaddr(&storage), &length) }
        return SocketAddress(storage: storage, length: length)
    }

    /// getpeername(2): the remote address of a connected socket.
    public static func peer(of fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try systemCall("getpeername") { getpeername(fd, creactor_sockaddr(&storage), &length) }
        return SocketAddress(storage: storage, length: length)
    }
}
