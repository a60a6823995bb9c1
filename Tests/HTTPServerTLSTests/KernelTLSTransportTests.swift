import CHTTPServerOpenSSL
import Glibc
@testable import HTTPServerTLS
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// `TLSTransport` handing its output to kernel TLS, with the kernel played by
/// `KernelMemoryTransport` (it seals records as the kernel would, from the crypto_info it is
/// given): an OpenSSL client that reads them proves the derived keys, IV and sequence number.
@Suite struct KernelTLSTransportTests {
    final class Fixture {
        let certificates: TestCertificates
        let clock = ManualClock()
        let context: TLSContext
        let lower = KernelMemoryTransport()
        let delegate = RecordingDelegate()
        let tls: TLSTransport
        var logged: [String] = []

        init(tls12Ciphers: String? = nil, context shared: TLSContext? = nil) throws {
            certificates = try TestCertificates.shared.get()
            var configuration = TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                                 privateKeyFile: certificates.keyFile)
            configuration.kernelTLS = true
            if let tls12Ciphers { configuration.tls12Ciphers = tls12Ciphers }
            context = try shared ?? TLSContext(configuration: configuration, scheduler: clock, kernelOffersTLS: true)
            tls = try TLSTransport(over: lower, context: context)
            tls.delegate = delegate
            delegate.transport = tls
            context.onFailure = { [unowned self] _, reason in self.logged.append(reason) }
        }

        /// A client for `version` offering only `suite` (a TLS 1.3 suite name, or nil for TLS 1.2,
        /// whose suite the server's list decides), handshaken.
        func connectedClient(version: Int32, suite: String? = nil, session: OpaquePointer? = nil) -> MemoryTLSClient {
            let client = MemoryTLSClient(caFile: certificates.caFile, maxVersion: version, session: session)
            if let suite { SSL_set_ciphersuites(client.ssl, suite) }
            pump(client, lower)
            return client
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var version: Int32
        var suite: String
        var testDescription: String { suite }
    }

    static let cases: [Case] = [
        Case(version: TLS1_3_VERSION, suite: "TLS_AES_128_GCM_SHA256"),
        Case(version: TLS1_3_VERSION, suite: "TLS_AES_256_GCM_SHA384"),
        Case(version: TLS1_3_VERSION, suite: "TLS_CHACHA20_POLY1305_SHA256"),
        Case(version: TLS1_2_VERSION, suite: "ECDHE-ECDSA-AES128-GCM-SHA256"),
        Case(version: TLS1_2_VERSION, suite: "ECDHE-ECDSA-AES256-GCM-SHA384"),
        Case(version: TLS1_2_VERSION, suite: "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ]

    static func fixture(_ c: Case) throws -> Fixture {
        try Fixture(tls12Ciphers: c.version == TLS1_2_VERSION ? c.suite : nil)
    }

    static func client(_ f: Fixture, _ c: Case, session: OpaquePointer? = nil) -> MemoryTLSClient {
        f.connectedClient(version: c.version, suite: c.version == TLS1_3_VERSION ? c.suite : nil, session: session)
    }

    /// A file holding `content`; its path.
    static func temporaryFile(_ f: Fixture, _ content: [UInt8]) -> String {
        let path = f.certificates.directory + "/ktls-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        _ = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return path
    }

    @Test(arguments: cases)
    func firstWriteHandsTheOutputToTheKernel(_ c: Case) throws {
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        #expect(client.handshake())
        #expect(f.tls.cipherName == c.suite)
        #expect(f.tls.kernelTLSStatus == .pending)
        _ = client.read()  // the tickets
        client.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        #expect(f.delegate.received == Array("GET / HTTP/1.1\r\n\r\n".utf8))

        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n".utf8)
        #expect(try head.withUnsafeBytes { try f.tls.write($0) } == .processed(head.count))
        #expect(f.tls.kernelTLSStatus == .kernel)
        #expect(f.context.kernelTLSCounters.connections == 1)
        #expect(f.lower.info?.version == (c.version == TLS1_3_VERSION ? 0x0304 : 0x0303))
        var content: [UInt8] = []
        for i in 0..<50_000 { content.append(UInt8(truncatingIfNeeded: i &* 7 &+ i >> 9)) }
        let path = Self.temporaryFile(f, content)
        defer { unlink(path) }
        let file = FileDescriptor(rawValue: open(path, O_RDONLY))
        var range = 0..<content.count
        while !range.isEmpty {
            guard case .processed(let n) = try f.tls.sendFile(file, range: range), n > 0 else { Issue.record("stalled"); break }
            range = (range.lowerBound + n)..<range.upperBound
        }
        #expect(f.lower.sendFileCalls >= 1)
        #expect(f.context.kernelTLSCounters.sendFileCalls == f.lower.sendFileCalls)
        #expect(f.context.kernelTLSCounters.sendFileBytes == content.count)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == head + content)

        // More requests and answers on the same connection, a vectored write among them.
        client.write(Array("GET /2 HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        let parts = [Array("HTTP/1.1 204 No Content\r\n".utf8), Array("\r\n".utf8)]
        let written = try parts[0].withUnsafeBytes { a in
            try parts[1].withUnsafeBytes { b in
                try [a, b].withUnsafeBufferPointer { try f.tls.write(vectored: $0) }
            }
        }
        #expect(written == .processed(parts[0].count + parts[1].count))
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == parts[0] + parts[1])

        // close_notify is a record the kernel seals.
        f.tls.shutdownWrite()
        #expect(f.lower.controlRecords.count == 1)
        #expect(f.lower.controlRecords.first?.type == 21 && f.lower.controlRecords.first?.bytes == [1, 0])
        #expect(f.lower.isWriteShutDown)
        client.feed(f.lower.takeWritten())
        #expect(client.read().closed)
        #expect(f.logged.isEmpty)
        #expect(f.delegate.failures.isEmpty)
    }

    @Test(arguments: [cases[0], cases[3]])
    func resumedSessionsSwitchToo(_ c: Case) throws {
        let first = try Self.fixture(c)
        let client = Self.client(first, c)
        _ = client.read()
        let session = try #require(client.session())
        defer { SSL_SESSION_free(session) }
        let f = try Fixture(tls12Ciphers: c.version == TLS1_2_VERSION ? c.suite : nil, context: first.context)
        let again = Self.client(f, c, session: session)
        #expect(again.handshake())
        #expect(again.isReused)
        _ = again.read()
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        #expect(try answer.withUnsafeBytes { try f.tls.write($0) } == .processed(answer.count))
        #expect(f.tls.kernelTLSStatus == .kernel)
        again.feed(f.lower.takeWritten())
        #expect(again.read().bytes == answer)
    }

    /// A key share for a group the server lacks: a HelloRetryRequest, a second ClientHello, then
    /// the flight; the count still starts at the application secret.
    @Test func helloRetryRequestThenSwitch() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        let client = MemoryTLSClient(caFile: f.certificates.caFile, maxVersion: TLS1_3_VERSION)
        let groups: StaticString = "X448:P-256"
        _ = SSL_ctrl(client.ssl, SSL_CTRL_SET_GROUPS_LIST, 0, UnsafeMutableRawPointer(mutating: groups.utf8Start))
        pump(client, f.lower)
        #expect(client.handshake())
        _ = client.read()
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.tls.kernelTLSStatus == .kernel)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == answer)
    }

    @Test func backpressureIsTheSocketsAfterTheSwitch() throws {
        let c = Self.cases[3]
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        _ = client.read()
        let first = Array("HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n".utf8)
        _ = try first.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.tls.kernelTLSStatus == .kernel)
        var body: [UInt8] = []
        for i in 0..<40_000 { body.append(UInt8(i % 253)) }
        f.lower.window = 10_000
        var sent = 0
        while sent < body.count {
            let result = try body[sent...].withUnsafeBytes { try f.tls.write($0) }
            guard case .processed(let n) = result else {
                let before = f.delegate.writableCount
                f.tls.awaitWritable()
                f.lower.grant(10_000)
                #expect(f.delegate.writableCount == before + 1)
                continue
            }
            sent += n
        }
        #expect(f.delegate.writableCount == 3)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == first + body)
    }

    @Test func keyUpdateThatAsksForOneClosesAfterTheSwitch() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        _ = client.read()
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.tls.kernelTLSStatus == .kernel)
        // Not asking for an update: the client's keys move, the server's stay; all goes on.
        #expect(SSL_key_update(client.ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
        client.write(Array("GET /a HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        #expect(f.delegate.received == Array("GET /a HTTP/1.1\r\n\r\n".utf8))
        #expect(f.delegate.failures.isEmpty)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == answer + answer)
        // Asking for one: OpenSSL would answer with its next write, which kernel TLS has taken
        // over; the connection closes.
        #expect(SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        client.write(Array("GET /b HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        #expect(f.delegate.failures.count == 1)
        #expect(f.lower.isClosed)
        #expect(f.logged.contains { $0.contains("KeyUpdate") })
    }

    @Test func keyUpdateBeforeTheFirstWriteKeepsUserSpace() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        _ = client.read()
        #expect(SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        client.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        #expect(f.tls.kernelTLSStatus == .userSpace(.keyUpdate))
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.lower.info == nil)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == answer)  // after the server's KeyUpdate, under its new keys
        #expect(f.context.kernelTLSCounters.fallbacks == 1)
    }

    @Test func failedSetsockoptKeepsUserSpaceAndPassesTheStreamEndOn() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        f.lower.failure = ENOPROTOOPT
        let client = Self.client(f, c)
        _ = client.read()
        f.tls.outputEndsStream()
        #expect(!f.lower.endsStream)  // held while kernel TLS is pending
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.tls.kernelTLSStatus == .userSpace(.setsockoptFailed(ENOPROTOOPT)))
        #expect(f.lower.endsStream)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == answer)
    }

    @Test func streamEndIsNotPassedToTheKernelsSocket() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        _ = client.read()
        f.tls.outputEndsStream()
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        #expect(f.tls.kernelTLSStatus == .kernel)
        #expect(!f.lower.endsStream)
    }

    @Test func closeNotifyWaitsForTheSocket() throws {
        let c = Self.cases[0]
        let f = try Self.fixture(c)
        let client = Self.client(f, c)
        _ = client.read()
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        _ = try answer.withUnsafeBytes { try f.tls.write($0) }
        f.lower.window = 0
        f.tls.shutdownWrite()
        #expect(f.lower.controlRecords.isEmpty)
        #expect(!f.lower.isWriteShutDown)
        f.lower.grant(nil)
        #expect(f.lower.controlRecords.count == 1)
        #expect(f.lower.isWriteShutDown)
        client.feed(f.lower.takeWritten())
        let read = client.read()
        #expect(read.bytes == answer && read.closed)
    }

    @Test func plainMemoryTransportAndTheDefaultStayInUserSpace() throws {
        let certificates = try TestCertificates.shared.get()
        var configuration = TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                             privateKeyFile: certificates.keyFile)
        let clock = ManualClock()
        let off = try TLSContext(configuration: configuration, scheduler: clock)
        #expect(try TLSTransport(over: KernelMemoryTransport(), context: off).kernelTLSStatus == .userSpace(.disabled))
        configuration.kernelTLS = true
        let on = try TLSContext(configuration: configuration, scheduler: clock, kernelOffersTLS: true)
        #expect(try TLSTransport(over: MemoryTransport(), context: on).kernelTLSStatus == .userSpace(.notASocket))
        let lacking = try TLSContext(configuration: configuration, scheduler: clock, kernelOffersTLS: false)
        #expect(try TLSTransport(over: KernelMemoryTransport(), context: lacking).kernelTLSStatus
            == .userSpace(.kernelLacksTLS))
    }
}
