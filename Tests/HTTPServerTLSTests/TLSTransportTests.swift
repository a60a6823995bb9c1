import CHTTPServerOpenSSL
import Glibc
import HTTPServerTLS
import HTTPServerTesting
import HTTPServerReactor
import Testing

/// `TLSTransport` in memory: an OpenSSL client over memory BIOs, the server over `MemoryTransport`,
/// time from a `ManualClock`. No sockets.
@Suite struct TLSTransportTests {
    /// A server-side TLS transport over memory, and what it logged.
    final class Fixture {
        let certificates: TestCertificates
        let clock = ManualClock()
        let context: TLSContext
        let lower = MemoryTransport()
        let delegate = RecordingDelegate()
        let tls: TLSTransport
        var logged: [String] = []

        init(_ configure: (inout TLSConfiguration) -> Void = { _ in }, context shared: TLSContext? = nil) throws {
            certificates = try TestCertificates.shared.get()
            var configuration = TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                                 privateKeyFile: certificates.keyFile)
            configuration.plaintextResponse = Array("HTTP/1.1 400 Bad Request\r\n\r\nplain HTTP".utf8)
            configure(&configuration)
            context = try shared ?? TLSContext(configuration: configuration, scheduler: clock)
            tls = try TLSTransport(over: lower, context: context)
            tls.delegate = delegate
            delegate.transport = tls
            context.onFailure = { [unowned self] _, reason in self.logged.append(reason) }
        }

        func client(maxVersion: Int32 = TLS1_3_VERSION, alpn: [String] = ["http/1.1"],
                    session: OpaquePointer? = nil) -> MemoryTLSClient {
            MemoryTLSClient(caFile: certificates.caFile, alpn: alpn, maxVersion: maxVersion, session: session)
        }
    }

    static let versions: [Int32] = [TLS1_2_VERSION, TLS1_3_VERSION]

    @Test(arguments: versions)
    func handshakeThenBytesBothWays(_ version: Int32) throws {
        let f = try Fixture()
        let client = f.client(maxVersion: version)
        pump(client, f.lower)
        #expect(client.handshake())
        #expect(f.tls.isEstablished)
        #expect(client.negotiatedProtocol == "http/1.1")
        #expect(f.tls.negotiatedProtocol == "http/1.1")
        #expect(f.tls.protocolVersion == (version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"))
        client.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        pump(client, f.lower)
        #expect(f.delegate.received == Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let answer = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        #expect(try answer.withUnsafeBytes { try f.tls.write($0) } == .processed(answer.count))
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == answer)
        #expect(f.tls.bufferedByteCount == 0)
        #expect(f.logged.isEmpty)
    }

    @Test func clientHelloOneByteAtATime() throws {
        let f = try Fixture()
        let client = f.client()
        client.handshake()
        for byte in client.takeOutput() { f.lower.deliver([byte]) }
        client.feed(f.lower.takeWritten())
        pump(client, f.lower)
        #expect(client.handshake())
        #expect(f.tls.isEstablished)
    }

    @Test func noALPNOverlapIsServedWithoutALPN() throws {
        let f = try Fixture()
        let client = f.client(alpn: ["h2"])
        pump(client, f.lower)
        #expect(client.handshake())
        #expect(client.negotiatedProtocol == nil)
    }

    @Test func silentClientIsClosedAtTheHandshakeTimeout() throws {
        let f = try Fixture()
        f.clock.advance(by: .seconds(9))
        #expect(!f.lower.isClosed)
        f.clock.advance(by: .seconds(2))
        #expect(f.lower.isClosed)
        #expect(f.delegate.failures.map(\.errno) == [ETIMEDOUT])
        #expect(f.logged == ["the handshake timed out"])
    }

    @Test func tricklingClientIsClosedAtTheHandshakeTimeout() throws {
        let f = try Fixture()
        let client = f.client()
        client.handshake()
        let hello = client.takeOutput()
        for byte in hello.prefix(20) {
            f.lower.deliver([byte])
            f.clock.advance(by: .seconds(1))
        }
        #expect(f.lower.isClosed)
        #expect(f.delegate.failures.map(\.errno) == [ETIMEDOUT])
    }

    @Test func plaintextRequestIsAnsweredInClear() throws {
        let f = try Fixture()
        f.lower.deliver(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(f.lower.written == Array("HTTP/1.1 400 Bad Request\r\n\r\nplain HTTP".utf8))
        #expect(f.lower.isWriteShutDown)
        #expect(!f.lower.isClosed)  // until the client has read it and closed
        f.lower.deliver(Array("more".utf8))
        f.lower.delegate?.endOfInput()
        #expect(f.lower.isClosed)
        #expect(f.delegate.received.isEmpty)
        #expect(f.logged == ["plain HTTP request sent to the TLS port"])
    }

    static let garbage: [[UInt8]] = [
        [0x01, 0x02, 0x03],
        [0x16, 0x03, 0x01, 0x00, 0x05] + Array("hello".utf8),  // a handshake record that is no ClientHello
        [0x16, 0x03, 0x01, 0xFF, 0xFF] + [UInt8](repeating: 0x41, count: 100),  // oversized record
    ]

    @Test(arguments: garbage)
    func garbageEndsThatConnection(_ bytes: [UInt8]) throws {
        let f = try Fixture()
        f.lower.deliver(bytes)
        f.lower.delegate?.endOfInput()
        #expect(f.lower.isClosed)
        #expect(f.delegate.failures.count == 1)
        #expect(f.logged.count == 1)
        #expect(f.delegate.received.isEmpty)
    }

    @Test func truncatedHandshakeThenResetEndsThatConnection() throws {
        let f = try Fixture()
        let client = f.client()
        client.handshake()
        let hello = client.takeOutput()
        f.lower.deliver(Array(hello.prefix(hello.count / 2)))
        f.lower.delegate?.transportFailed(SystemError(call: "read", errno: ECONNRESET))
        #expect(f.lower.isClosed)
        #expect(f.logged.count == 1 && f.logged[0].contains("during the handshake"))
    }

    @Test func closeSendsCloseNotify() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        #expect(client.handshake())
        _ = client.read()
        f.tls.close()
        client.feed(f.lower.takeWritten())
        #expect(client.read().closed)
        #expect(f.lower.isClosed)
    }

    @Test func clientCloseNotifyIsEndOfInput() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        SSL_shutdown(client.ssl)
        f.lower.deliver(client.takeOutput())
        #expect(f.delegate.ended)
        #expect(f.delegate.failures.isEmpty)
    }

    @Test func truncatedRecordThenEndIsEndOfInputWithoutTheBytes() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        client.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let record = client.takeOutput()
        f.lower.deliver(Array(record.dropLast(3)))
        f.lower.delegate?.endOfInput()
        #expect(f.delegate.received.isEmpty)
        #expect(f.delegate.ended)
    }

    @Test func backpressureFollowsTheSocket() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        let big = [UInt8](repeating: 0x61, count: 100_000)
        f.lower.window = 1000
        var sent = 0
        var blocked = false
        while sent < big.count {
            let result = try big.withUnsafeBytes { try f.tls.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            guard case .processed(let n) = result else { blocked = true; break }
            sent += n
        }
        #expect(blocked)
        #expect(sent == 16_384)  // one record taken, its ciphertext waits for the socket
        #expect(f.tls.bufferedByteCount > 0)
        f.tls.shutdownWrite()  // close_notify queues behind it
        #expect(!f.lower.isWriteShutDown)
        f.tls.awaitWritable()
        f.lower.grant(nil)
        #expect(f.delegate.writableCount == 1)
        #expect(f.lower.isWriteShutDown)
        #expect(f.tls.bufferedByteCount == 0)
        client.feed(f.lower.takeWritten())
        let (bytes, closed) = client.read()
        #expect(bytes == Array(big[..<16_384]))
        #expect(closed)
    }

    @Test func inputKeptWhilePausedComesAfterResume() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        f.delegate.onBytes = { $0.transport?.pauseReading() }
        client.write(Array("first".utf8))
        client.write(Array("second".utf8))
        f.lower.deliver(client.takeOutput())
        #expect(f.delegate.received == Array("first".utf8))
        #expect(f.lower.isReadingPaused)
        f.delegate.onBytes = nil
        f.tls.resumeReading()
        #expect(f.delegate.received == Array("first".utf8))  // not from inside resumeReading
        f.clock.advance(by: .zero)
        #expect(f.delegate.received == Array("firstsecond".utf8))
        #expect(f.tls.bufferedByteCount == 0)
    }

    @Test func fileRegionIsEncryptedFromAPooledBuffer() throws {
        let f = try Fixture()
        let client = f.client()
        pump(client, f.lower)
        _ = client.read()
        var content: [UInt8] = []
        for i in 0..<40_000 { content.append(UInt8(i % 251)) }
        let path = f.certificates.directory + "/file-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        _ = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let file = FileDescriptor(rawValue: fd)
        var range = 100..<40_000
        while !range.isEmpty {
            guard case .processed(let n) = try f.tls.sendFile(file, range: range), n > 0 else { Issue.record("stalled"); break }
            range = (range.lowerBound + n)..<range.upperBound
        }
        #expect(try f.tls.sendFile(file, range: 40_000..<40_010) == .processed(0))  // the file ended
        unlink(path)
        client.feed(f.lower.takeWritten())
        #expect(client.read().bytes == Array(content[100...]))
    }

    @Test(arguments: versions)
    func sessionIsResumedWithATicket(_ version: Int32) throws {
        let f = try Fixture()
        let first = f.client(maxVersion: version)
        pump(first, f.lower)
        _ = first.read()  // TLS 1.3 tickets come after the handshake
        let session = try #require(first.session())
        defer { SSL_SESSION_free(session) }
        #expect(!f.tls.isSessionReused)

        let lower = MemoryTransport()
        let second = try TLSTransport(over: lower, context: f.context)
        second.delegate = RecordingDelegate()
        let client = f.client(maxVersion: version, session: session)
        pump(client, lower)
        #expect(client.handshake())
        #expect(client.isReused)
        #expect(second.isSessionReused)
        second.close()
    }

    @Test func badCertificateOrPasswordIsATLSError() throws {
        let certificates = try TestCertificates.shared.get()
        let clock = ManualClock()
        #expect(throws: TLSError.self) {
            _ = try TLSContext(configuration: TLSConfiguration(certificateChainFile: "/nonexistent.pem"), scheduler: clock)
        }
        #expect(throws: TLSError.self) {
            _ = try TLSContext(configuration: TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                                               privateKeyFile: certificates.encryptedKeyFile,
                                                               password: "wrong"), scheduler: clock)
        }
        #expect(throws: TLSError.self) {  // no password: fails, never prompts
            _ = try TLSContext(configuration: TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                                               privateKeyFile: certificates.encryptedKeyFile), scheduler: clock)
        }
        _ = try TLSContext(configuration: TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                                           privateKeyFile: certificates.encryptedKeyFile,
                                                           password: certificates.password), scheduler: clock)
        _ = try TLSContext(configuration: TLSConfiguration(certificateChainFile: certificates.combinedFile), scheduler: clock)
    }
}
