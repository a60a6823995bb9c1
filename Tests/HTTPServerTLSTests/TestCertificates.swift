import Foundation
import Glibc

/// A test CA and a server certificate for `localhost` and 127.0.0.1 (ECDSA P-256), made with the
/// `openssl` command at test time, in a fresh temporary directory. Nothing is checked in.
struct TestCertificates {
    let directory: String
    var caFile: String { directory + "/ca.pem" }
    var certificateFile: String { directory + "/cert.pem" }
    var keyFile: String { directory + "/key.pem" }
    /// The same key, encrypted with `password`.
    var encryptedKeyFile: String { directory + "/key-encrypted.pem" }
    /// The certificate followed by its (unencrypted) key, as Python's `certfile` alone allows.
    var combinedFile: String { directory + "/combined.pem" }
    let password = "correct horse"

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Made once per test process.
    static let shared: Result<TestCertificates, Failure> = Result { try TestCertificates() }.mapError {
        $0 as? Failure ?? Failure(description: "\($0)")
    }

    private init() throws {
        var template = Array("/tmp/http-server-tls-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed") }
        directory = String(cString: made)
        let d = directory
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", d + "/ca-key.pem", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=Test CA"])
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", d + "/key.pem", "-out", d + "/cert.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: d + "/ext.cnf", atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", d + "/cert.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca-key.pem",
                          "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf", "-out", d + "/cert.pem"])
        try Self.openssl(["pkey", "-in", d + "/key.pem", "-aes256", "-passout", "pass:" + password,
                          "-out", d + "/key-encrypted.pem"])
        let combined = try String(contentsOfFile: d + "/cert.pem", encoding: .utf8)
            + String(contentsOfFile: d + "/key.pem", encoding: .utf8)
        try combined.write(toFile: d + "/combined.pem", atomically: true, encoding: .utf8)
    }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(text)")
        }
    }
}
