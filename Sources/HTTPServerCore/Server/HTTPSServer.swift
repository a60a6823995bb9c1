import Glibc
import HTTPServerTLS
import HTTPServerReactor

/// An HTTP/1 server over TLS. Equivalent to Python 3.14's `http.server.HTTPSServer`.
///
/// ```swift
/// let server = try HTTPSServer(("127.0.0.1", 8443), handler: Hello.self, certfile: "cert.pem", keyfile: "key.pem")
/// try server.serveForever()
/// ```
///
/// As in Python, the certificate is loaded by `serverActivate()` (so, by default, when the server is
/// created), and ALPN offers `http/1.1` unless told otherwise. Unlike Python, which wraps the
/// listening socket so that `accept()` performs the handshake (one client that sends nothing stalls
/// the server), each connection's handshake is one more nonblocking step on the reactor, with its
/// own timeout (`tlsConfiguration.handshakeTimeout`). TLS 1.2 and 1.3 only; see docs/tls.md.
open class HTTPSServer: HTTPServer, @unchecked Sendable {
    /// Python's `certfile`, `keyfile`, `password` and `alpn_protocols`, and the handshake timeout.
    public let tlsConfiguration: TLSConfiguration
    /// The loaded certificate and OpenSSL state shared by the connections (of reactor 0, with
    /// `reactors` > 1); nil before `serverActivate()`.
    public var tlsContext: TLSContext? { tlsContexts.first }
    /// One per reactor: a context's buffers and handshake timers belong to one loop.
    private var tlsContexts: [TLSContext] = []

    /// Python's `HTTPSServer(server_address, RequestHandlerClass, bind_and_activate, *, certfile,
    /// keyfile=None, password=None, alpn_protocols=None)`.
    public convenience init(_ address: (String, Int), handler: BaseHTTPRequestHandler.Type,
                            bindAndActivate: Bool = true, certfile: String, keyfile: String? = nil,
                            password: String? = nil, alpnProtocols: [String] = ["http/1.1"],
                            configuration: ServerConfiguration = ServerConfiguration(),
                            logDestination: LogDestination = .standardError) throws {
        let tls = TLSConfiguration(certificateChainFile: certfile, privateKeyFile: keyfile, password: password,
                                   alpnProtocols: alpnProtocols)
        try self.init(address, tls: tls, configuration: configuration, logDestination: logDestination,
                      bindAndActivate: bindAndActivate, handlerFactory: { handler.init() })
    }

    /// A server whose connections are each served by a handler `handlerFactory` makes, with every
    /// TLS option (`TLSConfiguration`).
    public init(_ address: (String, Int), tls: TLSConfiguration,
                configuration: ServerConfiguration = ServerConfiguration(),
                logDestination: LogDestination = .standardError, bindAndActivate: Bool = true,
                handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        var tls = tls
        if tls.plaintextResponse == nil { tls.plaintextResponse = Self.plainHTTPResponse }
        tlsConfiguration = tls
        try super.init(address: address, configuration: configuration, logDestination: logDestination,
                       bindAndActivate: bindAndActivate, clock: nil, wallClock: { Int64(time(nil)) },
                       handlerFactory: handlerFactory)
    }

    /// Python's `server_activate()`: loads the certificate (throwing `TLSError` with OpenSSL's
    /// reasons), then accepts connections.
    open override func serverActivate() throws {
        if tlsContexts.isEmpty {
            for reactor in reactors {
                guard let loop = reactor.loop else { continue }
                let tls = try TLSContext(configuration: tlsConfiguration, scheduler: loop)
                tls.onFailure = { [unowned self, unowned reactor] transport, reason in
                    self.logTLSFailure(transport, reason, on: reactor)
                }
                tlsContexts.append(tls)
            }
        }
        try super.serverActivate()
    }

    override func connectionTransport(over socket: SocketTransport, on reactor: ServerReactor) -> Transport? {
        guard reactor.index < tlsContexts.count else { return nil }
        return try? TLSTransport(over: socket, context: tlsContexts[reactor.index])
    }

    /// A line in the access log's format: `host - - [date] TLS handshake failed: ...`.
    private func logTLSFailure(_ transport: TLSTransport, _ reason: String, on reactor: ServerReactor) {
        let context = reactor.context
        guard context.log.isEnabled else { return }
        let host = (try? (transport.underlyingTransport as? SocketTransport)?.peerAddress())?.host ?? "-"
        let date = LogFormat.dateTime(context.wallClock())
        context.log.write("\(host) - - [\(date)] \(PythonText.escapeControlCharacters(reason))")
    }

    /// What nginx answers a plaintext request on its TLS port, as a proper HTTP/1.1 response.
    static let plainHTTPResponse: [UInt8] = {
        let body = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n"
            + "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
            + "<center>The plain HTTP request was sent to HTTPS port</center>\r\n</body>\r\n</html>\r\n"
        let head = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n"
        return Array((head + body).utf8)
    }()
}
