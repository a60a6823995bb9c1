import Foundation
import Glibc
import HTTPServerKit
import HTTPServerReactor
import Synchronization
import Testing

/// Tools the HTTPS tests run (`.ci/run` installs them); a test whose tool is missing is skipped.
enum Tool {
    static func exists(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { access("\($0)/\(name)", X_OK) == 0 }
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `arguments` (looked up on the PATH) with `input` on standard input.
    static func run(_ arguments: [String], input: String = "", timeout: Double = 30) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let inPipe = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = inPipe
        process.standardOutput = out
        process.standardError = err
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try? inPipe.fileHandleForWriting.close()
        // Standard error is read on another thread: a full pipe would stall the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errors = Box()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.data = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let killer = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        killer.cancel()
        return Outcome(status: process.terminationStatus,
                       stdout: String(decoding: output, as: UTF8.self),
                       stderr: String(decoding: errors.data, as: UTF8.self))
    }
}

/// An `HTTPSServer` on 127.0.0.1, serving on a thread of its own until released.
final class RunningHTTPSServer {
    let server: HTTPSServer
    let certificates: TestCertificates
    let log = CGILogLines()
    private let thread: Thread

    init(tls configure: (inout TLSConfiguration) -> Void = { _ in }, reactors: Int = 1,
         handlerFactory: @escaping () -> BaseHTTPRequestHandler = { HelloHandler() }) throws {
        certificates = try TestCertificates.shared.get()
        var tls = TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                   privateKeyFile: certificates.keyFile)
        configure(&tls)
        let log = self.log
        var configuration = ServerConfiguration()
        configuration.reactors = reactors
        server = try HTTPSServer(("127.0.0.1", 0), tls: tls, configuration: configuration,
                                 logDestination: .custom { line in log.lines.withLock { $0.append(line) } },
                                 handlerFactory: handlerFactory)
        let server = self.server
        thread = Thread { try? server.serveForever() }
        thread.start()
    }

    deinit {
        server.shutdown()
        server.serverClose()
    }

    var port: Int { server.serverPort }
    var url: String { "https://localhost:\(port)/" }
    var logLines: [String] { server.flushLog(); return log.lines.withLock { $0 } }

    /// The number of open connections, read on the server's thread.
    var connectionCount: Int {
        let count = Mutex(-1)
        let done = DispatchSemaphore(value: 0)
        server.loop?.execute { [server] in
            count.withLock { $0 = server.connectionCount }
            done.signal()
        }
        done.wait()
        return count.withLock { $0 }
    }

    /// Waits up to `seconds` for `condition`.
    func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// `HTTPSServer` with real clients: curl, Python's `ssl` and `urllib`, `openssl s_client`, h2load,
/// and raw sockets that misbehave.
@Suite(.serialized) struct HTTPSServerTests {
    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func curlVerifiesTheCertificateAndReusesTheConnection() throws {
        let running = try RunningHTTPSServer()
        let outcome = try Tool.run(["curl", "-sS", "-v", "--cacert", running.certificates.caFile,
                                    running.url, running.url + "again"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "Hello, World!Hello, World!")
        #expect(outcome.stderr.contains("SSL certificate verify ok"))
        #expect(outcome.stderr.contains("ALPN: server accepted http/1.1"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("Re-using existing connection") || outcome.stderr.contains("Reusing existing"),
                "\(outcome.stderr)")
    }

    /// Two reactors, each with its own TLS context: connections one after another alternate
    /// between them, and each is served over TLS by the reactor that accepted it.
    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func twoReactorsServeTLSEachWithItsOwnContext() throws {
        final class Which: BaseHTTPRequestHandler {
            override var protocolVersion: String { "HTTP/1.1" }
            override func doGET() throws {
                let index = server.loops.firstIndex { $0.inLoopThread } ?? -1
                let body = Array("reactor \(index);".utf8)
                sendResponse(200)
                sendHeader("Content-Length", String(body.count))
                endHeaders()
                wfile.write(body)
            }
        }
        let running = try RunningHTTPSServer(reactors: 2, handlerFactory: { Which() })
        var bodies = ""
        for _ in 0..<6 {
            let outcome = try Tool.run(["curl", "-sS", "--cacert", running.certificates.caFile, running.url])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            bodies += outcome.stdout
        }
        #expect(bodies.contains("reactor 0;") && bodies.contains("reactor 1;"), "\(bodies)")
    }

    static let pythonClient = """
        import json, ssl, sys, urllib.request
        port, ca = int(sys.argv[1]), sys.argv[2]
        out = {}
        for name, version in (("1.2", ssl.TLSVersion.TLSv1_2), ("1.3", ssl.TLSVersion.TLSv1_3)):
            context = ssl.create_default_context(cafile=ca)
            context.maximum_version = version
            context.set_alpn_protocols(["http/1.1"])
            body = urllib.request.urlopen(f"https://localhost:{port}/", context=context).read().decode()
            import socket
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    out[name] = [body, tls.version(), tls.selected_alpn_protocol(), tls.cipher()[0]]
        print(json.dumps(out))
        """

    @Test(.enabled(if: Tool.exists("python3"), "python3 is not installed"))
    func pythonSSLAndUrllib() throws {
        let running = try RunningHTTPSServer()
        let outcome = try Tool.run(["python3", "-c", Self.pythonClient, String(running.port),
                                    running.certificates.caFile])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: [String]]
        #expect(result?["1.2"]?.prefix(3) == ["Hello, World!", "TLSv1.2", "http/1.1"], "\(outcome.stdout)")
        #expect(result?["1.3"]?.prefix(3) == ["Hello, World!", "TLSv1.3", "http/1.1"], "\(outcome.stdout)")
        #expect(result?["1.2"]?.last?.hasPrefix("ECDHE-") == true, "forward secrecy: \(outcome.stdout)")
    }

    @Test(.enabled(if: Tool.exists("openssl"), "openssl is not installed"),
          arguments: ["-tls1_2", "-tls1_3"])
    func opensslClientNegotiatesALPNAndResumesWithATicket(_ version: String) throws {
        let running = try RunningHTTPSServer()
        let session = running.certificates.directory + "/session\(version)-\(running.port).pem"
        let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        let base = ["openssl", "s_client", "-connect", "127.0.0.1:\(running.port)", "-servername", "localhost",
                    "-CAfile", running.certificates.caFile, "-alpn", "http/1.1", version, "-ign_eof"]
        let first = try Tool.run(base + ["-sess_out", session], input: request)
        #expect(first.stdout.contains("ALPN protocol: http/1.1"), "\(first.stdout)")
        #expect(first.stdout.contains("Verify return code: 0 (ok)"))
        #expect(first.stdout.contains("New, TLSv1."))
        #expect(first.stdout.contains("Hello, World!"))
        let second = try Tool.run(base + ["-sess_in", session], input: request)
        #expect(second.stdout.contains("Reused, TLSv1."), "\(second.stdout)")
        #expect(second.stdout.contains("Hello, World!"))
        // No renegotiation: a client's request for one ("R" in s_client) is refused.
    }

    @Test(.enabled(if: Tool.exists("openssl"), "openssl is not installed"),
          arguments: [["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"], ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                      ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]])
    func oldProtocolsCBCAndStaticKeyExchangeAreRefused(_ options: [String]) throws {
        let running = try RunningHTTPSServer()
        let s_client = ["openssl", "s_client", "-connect", "127.0.0.1:\(running.port)"]
        let outcome = try Tool.run(s_client + options)
        #expect(outcome.stdout.contains("Cipher is (NONE)") || outcome.stdout.contains("no peer certificate available"),
                "\(options): \(outcome.stdout) \(outcome.stderr)")
        // The control: the same client, with a suite the server offers.
        let control = try Tool.run(s_client + ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
        #expect(control.stdout.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), "\(control.stdout)")
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func silentAndTricklingClientsStallNobodyAndAreClosed() throws {
        let running = try RunningHTTPSServer(tls: { $0.handshakeTimeout = .seconds(3) })
        var silent: [Int32] = []
        for _ in 0..<20 { silent.append(try SimpleServerProcess.connect(port: running.port)) }
        let trickler = try SimpleServerProcess.connect(port: running.port)
        _ = send(trickler, [0x16, 0x03, 0x01], 3, Int32(MSG_NOSIGNAL))
        defer { (silent + [trickler]).forEach { close($0) } }
        let started = Date()
        let outcome = try Tool.run(["curl", "-sS", "--cacert", running.certificates.caFile, running.url])
        #expect(outcome.stdout == "Hello, World!", "\(outcome.stderr)")
        #expect(Date().timeIntervalSince(started) < 2.5, "curl was served while 21 handshakes waited (timeout 3 s)")
        // Each silent client is closed at its handshake timeout (recv sees the end of the stream).
        for fd in silent + [trickler] {
            var byte: UInt8 = 0
            #expect(recv(fd, &byte, 1, 0) <= 0)
        }
        #expect(running.eventually { running.connectionCount == 0 })
        let timeouts = running.logLines.filter { $0.hasSuffix("the handshake timed out") }
        #expect(timeouts.count == 21, "\(running.logLines)")
    }

    @Test func plainHTTPOnTheTLSPortGetsA400ThatSaysSo() throws {
        let running = try RunningHTTPSServer()
        let response = String(decoding: try SimpleServerProcess.exchange(
            port: running.port, bytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(response)")
        #expect(response.contains("The plain HTTP request was sent to HTTPS port"))
        #expect(running.eventually { running.connectionCount == 0 })
        #expect(running.logLines.contains { $0.hasPrefix("127.0.0.1 - - [") && $0.hasSuffix("plain HTTP request sent to the TLS port") })
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func garbageTruncationAndResetsEndOnlyThatConnection() throws {
        let running = try RunningHTTPSServer()
        let baseline = LoopbackTests.openDescriptorCount()
        // Not TLS at all; a handshake record that is no ClientHello; half a ClientHello then a reset.
        _ = try SimpleServerProcess.exchange(port: running.port, [0x00, 0xFF, 0x13, 0x37])
        _ = try SimpleServerProcess.exchange(port: running.port, [0x16, 0x03, 0x01, 0x00, 0x04, 1, 2, 3, 4])
        let hello = try Self.clientHello(port: running.port)
        let fd = try SimpleServerProcess.connect(port: running.port)
        _ = send(fd, hello, hello.count / 2, Int32(MSG_NOSIGNAL))
        usleep(50_000)
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)  // RST
        #expect(running.eventually { running.connectionCount == 0 })
        #expect(LoopbackTests.openDescriptorCount() <= baseline + 1)
        let outcome = try Tool.run(["curl", "-sS", "--cacert", running.certificates.caFile, running.url])
        #expect(outcome.stdout == "Hello, World!")
        let failures = running.logLines.filter { $0.contains("TLS") || $0.contains("handshake") }
        #expect(failures.count >= 3, "\(running.logLines)")
    }

    /// A real ClientHello, as OpenSSL's client writes it.
    static func clientHello(port: Int) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Any ClientHello will do: one recorded from Python's ssl module over a memory BIO.
        process.arguments = ["python3", "-c", """
            import ssl, sys
            c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
            s = c.wrap_bio(i, o, server_hostname="localhost")
            try: s.do_handshake()
            except ssl.SSLWantReadError: pass
            sys.stdout.buffer.write(o.read())
            """]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func largeFileGoesOutEncryptedWithBackpressure() throws {
        let certificates = try TestCertificates.shared.get()
        let directory = certificates.directory + "/files-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o755)
        var content = [UInt8](repeating: 0, count: 3 << 20)
        for i in content.indices { content[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 13) }
        try Data(content).write(to: URL(fileURLWithPath: directory + "/big.bin"))
        let running = try RunningHTTPSServer(handlerFactory: {
            SimpleHTTPRequestHandler(configuration: .init(directory: directory))
        })
        let target = directory + "/downloaded.bin"
        // --limit-rate keeps the socket full, so the server meets EAGAIN and waits for EPOLLOUT.
        let outcome = try Tool.run(["curl", "-sS", "--cacert", certificates.caFile, "--limit-rate", "4M",
                                    "-o", target, running.url + "big.bin"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(FileManager.default.contents(atPath: target) == Data(content))
    }

    @Test(.enabled(if: Tool.exists("h2load"), "h2load (nghttp2-client) is not installed"))
    func h2loadOverHTTPSKeepAlive() throws {
        let running = try RunningHTTPSServer()
        let outcome = try Tool.run(["h2load", "--h1", "-n", "2000", "-c", "8", running.url])
        #expect(outcome.stdout.contains("2000 total, 2000 started, 2000 done, 2000 succeeded"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("TLS Protocol: TLSv1.3"), "\(outcome.stdout)")
    }
}
