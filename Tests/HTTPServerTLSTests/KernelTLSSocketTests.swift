import CHTTPServerOpenSSL
import Glibc
@testable import HTTPServerTLS
import HTTPServerReactor
import Testing

/// `SocketTransport`'s kernel TLS calls on a real TCP connection over loopback. Where the kernel
/// lacks kernel TLS (this project's machine) the first setsockopt must fail with ENOENT, which the
/// connection turns into a fallback; where it offers it, the bytes on the wire must be the records
/// `KernelRecordSealer` makes from the same crypto_info.
@Suite struct KernelTLSSocketTests {
    /// A connected pair over 127.0.0.1: the client end wrapped in a `SocketTransport` (never
    /// started: writes need no registration), the accepted end as a blocking descriptor.
    final class Pair {
        let loop: EventLoop
        let transport: SocketTransport
        let accepted: Int32

        init() throws {
            loop = try EventLoop()
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(listener) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let connected = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    bind(listener, raw, length) == 0 && listen(listener, 1) == 0
                        && getsockname(listener, raw, &length) == 0 && connect(client, raw, length) == 0
                }
            }
            transport = SocketTransport(loop: loop, fd: client)
            try #require(connected)
            accepted = accept(listener, nil, nil)
            try #require(accepted >= 0)
        }

        deinit {
            transport.close()
            close(accepted)
        }

        /// Exactly `count` bytes from the accepted end (or fewer if it ends), waiting up to 5 s.
        func read(_ count: Int) -> [UInt8] {
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            var poller = pollfd(fd: accepted, events: Int16(POLLIN), revents: 0)
            while out.count < count, poll(&poller, 1, 5_000) > 0 {
                let n = recv(accepted, &chunk, min(chunk.count, count - out.count), 0)
                if n <= 0 { break }
                out += chunk[..<n]
            }
            return out
        }
    }

    static let infos: [KernelTLSCryptoInfo] = [
        KernelTLSCryptoInfo(version: 0x0304, cipher: .aes128GCM, key: Array(0..<16), iv: Array(20..<28),
                            salt: Array(30..<34), recordSequence: 2),
        KernelTLSCryptoInfo(version: 0x0303, cipher: .aes256GCM, key: Array(0..<32), iv: [0, 0, 0, 0, 0, 0, 1, 0],
                            salt: Array(40..<44), recordSequence: 1),
        KernelTLSCryptoInfo(version: 0x0303, cipher: .chacha20Poly1305, key: Array(64..<96), iv: Array(100..<112),
                            salt: [], recordSequence: 5),
    ]

    @Test(.disabled(if: TLSContext.kernelOffersTLS, "the kernel offers kernel TLS: the test below runs instead"))
    func withoutTheULPTheFirstSetsockoptFails() throws {
        let pair = try Pair()
        #expect(throws: SystemError(call: "setsockopt(TCP_ULP)", errno: ENOENT)) {
            try pair.transport.enableKernelTLS(Self.infos[0])
        }
        // The socket is untouched: what is written arrives as it is.
        let message = Array("plain".utf8)
        #expect(try message.withUnsafeBytes { try pair.transport.write($0) } == .processed(5))
        #expect(pair.read(5) == message)
    }

    @Test(.enabled(if: TLSContext.kernelOffersTLS, "the kernel does not offer kernel TLS ('tls' is not in /proc/sys/net/ipv4/tcp_available_ulp)"),
          arguments: infos)
    func theKernelWritesTheRecordsTheSealerExpects(_ info: KernelTLSCryptoInfo) throws {
        let pair = try Pair()
        try pair.transport.enableKernelTLS(info)
        var sealer = KernelRecordSealer(info)
        let message = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
        #expect(try message.withUnsafeBytes { try pair.transport.write($0) } == .processed(message.count))
        let alert: [UInt8] = [1, 0]
        #expect(try alert.withUnsafeBytes { try pair.transport.sendRecord(contentType: 21, $0) } == .processed(2))
        let expected = sealer.seal(type: 23, message) + sealer.seal(type: 21, alert)
        #expect(pair.read(expected.count) == expected)
    }
}
