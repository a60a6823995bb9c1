import Foundation
import Glibc
import HTTPServerTLS
import Testing

/// `http-server --tls-cert/--tls-key/--tls-password-file`: Python 3.14's rules and messages, the
/// HTTPS banner, and real clients against the executable.
@Suite struct HTTPSCommandLineTests {
    static let usageErrors: [([String], String)] = [
        (["--tls-key", "key.pem"], "--tls-key requires --tls-cert to be set"),
        (["--tls-password-file", "password.txt"], "--tls-password-file requires --tls-cert to be set"),
        (["--tls-kernel"], "--tls-kernel requires --tls-cert to be set"),
        (["--tls-cert", "cert.pem", "--tls-password-file", "/nonexistent-password-file"],
         "Failed to read TLS password file: [Errno 2] No such file or directory: '/nonexistent-password-file'"),
    ]

    @Test(arguments: usageErrors)
    func usageErrorsExitWithStatus2(_ arguments: [String], _ message: String) throws {
        let outcome = try CLITests.run(arguments + ["-b", "127.0.0.1", "0"])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(outcome.stderr.filter { $0 == "\n" }.count == 1, "\(outcome.stderr)")
    }

    @Test func unreadablePasswordFileSaysSo() throws {
        let certificates = try TestCertificates.shared.get()
        let outcome = try CLITests.run(["--tls-cert", certificates.certificateFile,
                                        "--tls-password-file", certificates.directory, "-b", "127.0.0.1", "0"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("Failed to read TLS password file: [Errno 21] Is a directory: '\(certificates.directory)'"),
                "\(outcome.stderr)")
    }

    @Test func certificateThatDoesNotLoadIsOneLineAndStatus1() throws {
        let certificates = try TestCertificates.shared.get()
        for arguments in [["--tls-cert", "/nonexistent-cert.pem"],
                          ["--tls-cert", certificates.certificateFile, "--tls-key", certificates.encryptedKeyFile],
                          ["--tls-cert", certificates.caFile, "--tls-key", certificates.keyFile]] {
            let outcome = try CLITests.run(arguments + ["-b", "127.0.0.1", "0"])
            #expect(outcome.status == 1, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.hasPrefix("http-server: error: cannot load")
                    || outcome.stderr.hasPrefix("http-server: error: the private key does not match"), "\(outcome.stderr)")
            #expect(outcome.stderr.filter { $0 == "\n" }.count == 1, "\(outcome.stderr)")
        }
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func servesHTTPSWithAnEncryptedKeyAndPrintsTheHTTPSBanner() throws {
        let certificates = try TestCertificates.shared.get()
        let passwordFile = certificates.directory + "/password.txt"
        try (certificates.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let root = certificates.directory + "/served-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(root, 0o755)
        try "over TLS\n".write(toFile: root + "/hello.txt", atomically: true, encoding: .utf8)
        let server = try SimpleServerProcess.startSwift([
            "-b", "127.0.0.1", "0", "-d", root, "--tls-cert", certificates.certificateFile,
            "--tls-key", certificates.encryptedKeyFile, "--tls-password-file", passwordFile])
        defer { server.stop() }
        #expect(server.banner == "Serving HTTPS on 127.0.0.1 port \(server.port) (https://127.0.0.1:\(server.port)/) ...\n")
        let outcome = try Tool.run(["curl", "-sS", "--cacert", certificates.caFile,
                                    "https://localhost:\(server.port)/hello.txt"])
        #expect(outcome.stdout == "over TLS\n", "\(outcome.stderr)")
    }

    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func certificateFileWithTheKeyInsideNeedsNoKeyOption() throws {
        let certificates = try TestCertificates.shared.get()
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "0", "-d", certificates.directory,
                                                         "--tls-cert", certificates.combinedFile])
        defer { server.stop() }
        let outcome = try Tool.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                    certificates.caFile, "https://localhost:\(server.port)/"])
        #expect(outcome.stdout == "200", "\(outcome.stderr)")
    }

    /// Where the kernel lacks kernel TLS (this project's machine) the server says so once and
    /// serves in user space; elsewhere it just serves.
    @Test(.enabled(if: Tool.exists("curl"), "curl is not installed"))
    func tlsKernelServesAndSaysWhenTheKernelLacksIt() throws {
        let certificates = try TestCertificates.shared.get()
        let root = certificates.directory + "/kernel-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(root, 0o755)
        let content = String(repeating: "kernel TLS\n", count: 10_000)
        try content.write(toFile: root + "/file.txt", atomically: true, encoding: .utf8)
        let server = try SimpleServerProcess.startSwift([
            "-b", "127.0.0.1", "0", "-d", root, "--tls-cert", certificates.certificateFile,
            "--tls-key", certificates.keyFile, "--tls-kernel"])
        #expect(server.banner == "Serving HTTPS on 127.0.0.1 port \(server.port) (https://127.0.0.1:\(server.port)/) ...\n")
        let outcome = try Tool.run(["curl", "-sS", "--cacert", certificates.caFile,
                                    "https://localhost:\(server.port)/file.txt"])
        server.stop()
        #expect(outcome.stdout == content, "\(outcome.stderr)")
        let errors = String(decoding: server.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(errors.contains("this kernel does not offer kernel TLS") == !TLSContext.kernelOffersTLS, "\(errors)")
    }

    @Test func helpListsTheTLSOptions() throws {
        let outcome = try CLITests.run(["--help"])
        for text in ["--tls-cert <PATH>", "--tls-key <PATH>", "--tls-password-file <PATH>", "--tls-kernel"] {
            #expect(outcome.stdout.contains(text), "\(text)")
        }
    }
}
