import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTLS
import Synchronization
import Testing

extension HTTPSServerTests {
/// `HTTPSServer` with `TLSConfiguration.kernelTLS` and curl downloading a file. Where the kernel
/// offers kernel TLS the file must leave through sendfile on a kernel TLS socket; where it does
/// not (this project's machine), the same download must work in user space. Nested in the
/// serialized `HTTPSServerTests`: its servers and curl's pipes would disturb the descriptor count
/// of `garbageTruncationAndResetsEndOnlyThatConnection`.
@Suite struct KernelTLSLoopbackTests {
    /// The ways curl connects: TLS 1.3 and 1.2, AES-GCM and ChaCha20-Poly1305.
    static let clients: [[String]] = [
        ["--tlsv1.3"],
        ["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"],
        ["--tlsv1.2", "--tls-max", "1.2"],
        ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"],
    ]

    static let kernelLacksTLS = "the kernel does not offer kernel TLS ('tls' is not in "
        + "/proc/sys/net/ipv4/tcp_available_ulp; try 'modprobe tls'): only the user-space fallback runs here"

    /// A 3 MiB file served by a kernel-TLS HTTPS server, downloaded with curl `options`; the
    /// server's kernel TLS counters afterwards.
    static func download(_ options: [String]) throws -> KernelTLSCounters {
        let certificates = try TestCertificates.shared.get()
        let directory = certificates.directory + "/ktls-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o755)
        var content = [UInt8](repeating: 0, count: 3 << 20)
        for i in content.indices { content[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 13) }
        try Data(content).write(to: URL(fileURLWithPath: directory + "/big.bin"))
        let running = try RunningHTTPSServer(tls: { $0.kernelTLS = true }, handlerFactory: {
            SimpleHTTPRequestHandler(configuration: .init(directory: directory))
        })
        let target = directory + "/downloaded.bin"
        let outcome = try Tool.run(["curl", "-sS", "--cacert", certificates.caFile] + options
                                   + ["-o", target, running.url + "big.bin"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(FileManager.default.contents(atPath: target) == Data(content), "\(options)")
        return counters(of: running.server)
    }

    /// The counters, read on the server's loop.
    static func counters(of server: HTTPSServer) -> KernelTLSCounters {
        let counters = Mutex(KernelTLSCounters())
        let done = DispatchSemaphore(value: 0)
        server.loop?.execute { [server] in
            counters.withLock { $0 = server.tlsContext?.kernelTLSCounters ?? KernelTLSCounters() }
            done.signal()
        }
        done.wait()
        return counters.withLock { $0 }
    }

    /// `TlsTxSw` in /proc/net/tls_stat (kernel TLS sockets set up for software transmit), if any.
    static func kernelTransmitCount() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/net/tls_stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count == 2, fields[0] == "TlsTxSw" { return Int(fields[1]) }
        }
        return nil
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"),
          .enabled(if: TLSContext.kernelOffersTLS, .init(rawValue: kernelLacksTLS)),
          arguments: clients)
    func fileLeavesThroughSendfileOnAKernelTLSSocket(_ options: [String]) throws {
        let before = Self.kernelTransmitCount()
        let counters = try Self.download(options)
        #expect(counters.connections >= 1, "\(counters)")
        #expect(counters.fallbacks == 0, "\(counters)")
        #expect(counters.sendFileCalls >= 1, "\(counters)")
        #expect(counters.sendFileBytes == 3 << 20, "\(counters)")
        if let before, let after = Self.kernelTransmitCount() { #expect(after > before) }
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"),
          .disabled(if: TLSContext.kernelOffersTLS, "the kernel offers kernel TLS: the test above runs instead"),
          arguments: clients)
    func withoutKernelTLSTheFileIsEncryptedInUserSpace(_ options: [String]) throws {
        let counters = try Self.download(options)
        #expect(counters == KernelTLSCounters(), "\(counters)")
    }
}
}
