import ArgumentParser
import Glibc
import HTTPServerKit

/// `http-server`: serve a folder over HTTP, like `python -m http.server`.
struct HTTPServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-server",
        abstract: "Serve a directory over HTTP, like `python3 -m http.server`.",
        // Spelled out: with this many options ArgumentParser would shorten it to `[<options>] [<port>]`.
        usage: "http-server [<port>] [-b <address>] [-d <directory>] [-p <version>] [--cgi] [<options>]",
        discussion: """
            Files are served with their content type, Content-Length and Last-Modified; directories \
            without an index.html or index.htm get a listing. Range requests, ETag/If-None-Match and \
            If-Modified-Since are supported. Access log lines go to standard error.

            Examples:
              http-server                # port 8000, all interfaces, this folder
              http-server 8080 -b 127.0.0.1 -d ./public
              http-server --header 'Cache-Control: no-store' --content-type text/plain
              http-server 8443 --tls-cert cert.pem --tls-key key.pem
            """)

    @Argument(help: ArgumentHelp("Bind to this port (0 picks a free port).", valueName: "port"))
    var port: String = "8000"

    @Flag(name: .customLong("cgi"), help: "Run as CGI server: run scripts in /cgi-bin and /htbin.")
    var cgi = false

    @Option(name: [.short, .customLong("bind")],
            help: ArgumentHelp("Bind to this address (default: all interfaces, IPv6 and IPv4).", valueName: "ADDRESS"))
    var bind: String?

    @Option(name: [.short, .customLong("directory")],
            help: ArgumentHelp("Serve this directory (default: current directory).", valueName: "DIRECTORY"))
    var directory: String?

    @Option(name: [.short, .customLong("protocol")],
            help: ArgumentHelp("Conform to this HTTP version: HTTP/1.0 or HTTP/1.1.", valueName: "VERSION"))
    var protocolVersion: String = "HTTP/1.0"

    @Option(name: .customLong("content-type"),
            help: ArgumentHelp("Content type for files of unknown type (default: application/octet-stream).", valueName: "TYPE"))
    var contentType: String?

    @Option(name: .customLong("header"),
            help: ArgumentHelp("Add this header to every response, as 'Name: value' (repeatable).", valueName: "HEADER"))
    var headers: [String] = []

    @Option(name: .customLong("proxy-protocol"),
            help: ArgumentHelp("Require a PROXY protocol header (v1 or v2) from peers in this network, "
                               + "e.g. 10.0.0.0/8 or ::1 (repeatable); its address is the client's.",
                               valueName: "CIDR"))
    var proxyProtocolNetworks: [String] = []

    @Option(name: .customLong("access-log-format"),
            help: ArgumentHelp("Access log format: python (default), common or combined.", valueName: "FORMAT"))
    var accessLogFormat: String = "python"

    @Option(name: .customLong("access-log"),
            help: ArgumentHelp("Append the log to this file instead of standard error.", valueName: "FILE"))
    var accessLogPath: String?

    @Flag(name: .customLong("socket-activation"),
          help: "Serve the listening socket systemd passes (LISTEN_FDS, LISTEN_PID) instead of binding one.")
    var socketActivation = false

    @Option(name: .customLong("listen-fd"),
            help: ArgumentHelp("Serve this inherited listening socket descriptor instead of binding one.", valueName: "FD"))
    var listenDescriptor: Int32?
    // 1 by default: one reactor thread plus the worker threads serves a folder to anyone on a
    // network (tens of thousands of requests a second); a reactor per core is for a busy server.
    @Option(name: .customLong("reactors"),
            help: ArgumentHelp("Event loop threads that accept and serve connections (a busy server: one per core).",
                               valueName: "N"))
    var reactors: String = "1"

    @Option(name: .customLong("tls-cert"),
            help: ArgumentHelp("Serve HTTPS with this certificate chain file (PEM).", valueName: "PATH"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"),
            help: ArgumentHelp("The TLS private key file (default: the key in --tls-cert).", valueName: "PATH"))
    var tlsKey: String?

    @Option(name: .customLong("tls-password-file"),
            help: ArgumentHelp("Read the password of the TLS key from this file.", valueName: "PATH"))
    var tlsPasswordFile: String?

    @Flag(name: .customLong("tls-kernel"),
          help: "Hand HTTPS output to Linux kernel TLS where the kernel offers it (files leave with sendfile).")
    var tlsKernel = false

    /// The port as a number, once validated.
    var portNumber: Int { Int(port) ?? 8000 }

    mutating func validate() throws {
        guard let number = Int(port), (0...65535).contains(number) else {
            throw ValidationError("invalid port '\(port)': expected a number from 0 to 65535")
        }
        guard ["HTTP/1.0", "HTTP/1.1"].contains(protocolVersion) else {
            throw ValidationError("unsupported protocol version '\(protocolVersion)': use HTTP/1.0 or HTTP/1.1")
        }
        for header in headers where Self.parseHeader(header) == nil {
            throw ValidationError("invalid header '\(header)': expected 'Name: value'")
        }
        if socketActivation && listenDescriptor != nil {
            throw ValidationError("--socket-activation and --listen-fd exclude each other")
        }
        if let listenDescriptor, listenDescriptor < 0 {
            throw ValidationError("invalid descriptor '\(listenDescriptor)'")
        }
        guard AccessLogFormat(rawValue: accessLogFormat) != nil else {
            throw ValidationError("invalid access log format '\(accessLogFormat)': use python, common or combined")
        }
        for network in proxyProtocolNetworks where IPNetwork(network) == nil {
            throw ValidationError("invalid network '\(network)': expected an address or address/prefix")
        }
        guard let count = Int(reactors), (1...1024).contains(count) else {
            throw ValidationError("invalid number of reactors '\(reactors)': expected a number from 1 to 1024")
        }
        // Python 3.14's rules and messages (argparse's parser.error: exit status 2).
        if tlsCert == nil, tlsKey != nil {
            throw ValidationError("--tls-key requires --tls-cert to be set")
        }
        if tlsCert == nil, tlsPasswordFile != nil {
            throw ValidationError("--tls-password-file requires --tls-cert to be set")
        }
        if tlsCert == nil, tlsKernel {
            throw ValidationError("--tls-kernel requires --tls-cert to be set")
        }
        if let tlsPasswordFile, case .failure(let reason) = Self.readPasswordFile(tlsPasswordFile) {
            throw ValidationError("Failed to read TLS password file: \(reason)")
        }
        if let contentType, contentType.isEmpty || contentType.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw ValidationError("invalid content type '\(contentType)'")
        }
    }

    /// `Name: value` → (name, value); nil unless the name is an RFC 9110 token and the value has no
    /// control characters other than tab.
    static func parseHeader(_ text: String) -> (name: String, value: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon]
        let tokenPunctuation = Set("!#$%&'*+-.^_`|~".unicodeScalars)
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({
            ($0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                || ("0"..."9").contains($0) || tokenPunctuation.contains($0))
        }) else { return nil }
        let value = text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
        guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else { return nil }
        var trimmed = Substring(value)
        while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
        return (String(name), String(trimmed))
    }

    func run() throws {
        let root = try Self.resolveDirectory(directory)
        try serve(directory: root)
    }

    /// Python 3.14's `open(path, encoding="utf-8").read().strip()`; on failure, the reason as Python
    /// prints an OSError (`[Errno 2] No such file or directory: 'path'`).
    static func readPasswordFile(_ path: String) -> Result<String, PasswordFileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(PasswordFileError(errno: errno, path: path)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(PasswordFileError(errno: errno, path: path))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return .success(String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()))
    }

    struct PasswordFileError: Error, CustomStringConvertible {
        var errno: Int32
        var path: String
        var description: String { "[Errno \(errno)] \(String(cString: strerror(errno))): '\(path)'" }
    }

    /// The served directory as an absolute path; it must exist and be a directory.
    static func resolveDirectory(_ given: String?) throws -> String {
        var cwd = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&cwd, cwd.count) != nil else {
            throw CommandLineFailure("cannot determine the current directory: \(String(cString: strerror(errno)))")
        }
        let current = String(decoding: cwd.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let given else { return current }
        let path = given.hasPrefix("/") ? given : current + "/" + given
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CommandLineFailure("cannot serve directory '\(given)': \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CommandLineFailure("cannot serve directory '\(given)': Not a directory")
        }
        return path
    }
}

/// A failure to start: printed as one line, exit status 1.
struct CommandLineFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
