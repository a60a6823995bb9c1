import Glibc
import HTTPServerKit
import HTTPServerReactor

extension HTTPServerCommand {
    /// Binds, prints Python's banner and serves until SIGINT or SIGTERM.
    func serve(directory: String) throws {
        var configuration = SimpleHTTPRequestHandler.Configuration(directory: directory)
        configuration.protocolVersion = protocolVersion
        configuration.extraHeaders = headers.compactMap(Self.parseHeader)
        if let contentType { configuration.defaultContentType = contentType }
        let port = portNumber
        let serverConfiguration = makeServerConfiguration()
        let logDestination = try makeLogDestination()

        // Python's `_get_best_family(bind, port)`: the first getaddrinfo answer decides the address.
        let best: SocketAddress
        do {
            guard let first = try SocketAddress.resolve(host: bind ?? "", port: port, passive: true).first else {
                throw CommandLineFailure("cannot resolve '\(bind ?? "")': no address")
            }
            best = first
        } catch let error as SystemError {
            throw CommandLineFailure("cannot resolve '\(bind ?? "")': \(error.detail ?? SystemError.message(for: error.errno))")
        }

        // Python's `--cgi`: CGIHTTPRequestHandler instead of SimpleHTTPRequestHandler.
        // Python 3.14's --tls-cert: HTTPSServer (the password file was checked by validate()).
        var tls: TLSConfiguration?
        if let tlsCert {
            var password: String?
            if let tlsPasswordFile {
                switch Self.readPasswordFile(tlsPasswordFile) {
                case .success(let text): password = text
                case .failure(let reason): throw CommandLineFailure("Failed to read TLS password file: \(reason)")
                }
            }
            tls = TLSConfiguration(certificateChainFile: tlsCert, privateKeyFile: tlsKey, password: password)
            tls?.kernelTLS = tlsKernel
        }

        let factory: () -> BaseHTTPRequestHandler = cgi
            ? { CGIHTTPRequestHandler(configuration: configuration) }
            : { SimpleHTTPRequestHandler(configuration: configuration) }
        // Python's `python -m http.server` serves with `ThreadingHTTPServer`; so does this, except
        // CGI (its handler registers child processes with the reactor) and TLS (no
        // `ThreadingHTTPSServer` yet).
        let threaded = !cgi
        let server: HTTPServer
        let inherited = try inheritedListeningDescriptor()
        if let inherited {
            do {
                server = threaded
                    ? try ThreadingHTTPServer(listeningDescriptor: inherited, configuration: serverConfiguration,
                                              logDestination: logDestination, handlerFactory: factory)
                    : try HTTPServer(listeningDescriptor: inherited, configuration: serverConfiguration,
                                     logDestination: logDestination, handlerFactory: factory)
            } catch {
                throw CommandLineFailure("cannot serve the inherited socket \(inherited): \(Self.reason(error))")
            }
        } else if bind == nil, let dualStack = try? Self.bound(("::", port), ipv6Only: false, tls: tls, threaded: threaded, serverConfiguration, logDestination, factory) {
            // All interfaces, IPv6 and IPv4 on one socket (Python's DualStackServer, which only gets
            // dual-stack when getaddrinfo happens to list IPv6 first).
            server = dualStack
        } else {
            do {
                server = try Self.bound((best.host, port), ipv6Only: best.isIPv6 ? false : nil, tls: tls, threaded: threaded,
                                        serverConfiguration, logDestination, factory)
            } catch let error as TLSError {
                throw CommandLineFailure(error.description)
            } catch {
                throw CommandLineFailure("cannot listen on \(best.host) port \(port): \(Self.reason(error))")
            }
        }

        guard let loop = server.loop else { throw CommandLineFailure("the server has no event loop") }
        // Signals are heard on reactor 0's loop; with --reactors N, serverClose() has each of the
        // others close its own connections on its thread.
        try loop.onSignal(SIGINT) {
            Self.writeOut("\nKeyboard interrupt received, exiting.\n")
            server.serverClose()
            Glibc.exit(0)
        }
        // SIGTERM: stop accepting, answer the requests already received, close idle connections,
        // then return from serveForever() (HTTPServer.shutdown(), with its grace period).
        try loop.onSignal(SIGTERM) { server.shutdown() }
        // Python prints the bound socket's name: for no -b, the address getaddrinfo listed first.
        let host = bind == nil && inherited == nil ? best.host : server.serverAddress.host
        let urlHost = host.contains(":") ? "[\(host)]" : host
        // Python 3.14: "HTTPS" and https:// with --tls-cert.
        let scheme = tls == nil ? "HTTP" : "HTTPS"
        let banner = "Serving \(scheme) on \(host) port \(server.serverPort) "
            + "(\(scheme.lowercased())://\(urlHost):\(server.serverPort)/) ...\n"
        if tls?.kernelTLS == true, (server as? HTTPSServer)?.tlsContext?.kernelTLSFallback == .kernelLacksTLS {
            Self.writeError("http-server: --tls-kernel: this kernel does not offer kernel TLS ('tls' is not in "
                            + "/proc/sys/net/ipv4/tcp_available_ulp): HTTPS output is encrypted in user space\n")
        }
        Self.writeOut(banner)   // after the signal handlers: a banner means ready

        do {
            try server.serveForever()
        } catch {
            throw CommandLineFailure("server stopped: \(Self.reason(error))")
        }
        server.serverClose()
    }

    static func bound(_ address: (String, Int), ipv6Only: Bool?, tls: TLSConfiguration?, threaded: Bool,
                      _ configuration: ServerConfiguration, _ logDestination: LogDestination,
                      _ factory: @escaping () -> BaseHTTPRequestHandler) throws -> HTTPServer {
        let server: HTTPServer
        if let tls {
            server = try HTTPSServer(address, tls: tls, configuration: configuration, logDestination: logDestination,
                                     bindAndActivate: false, handlerFactory: factory)
        } else if threaded {
            server = try ThreadingHTTPServer(address, configuration: configuration, logDestination: logDestination,
                                             bindAndActivate: false, handlerFactory: factory)
        } else {
            server = try HTTPServer(address, configuration: configuration, logDestination: logDestination,
                                    bindAndActivate: false, handlerFactory: factory)
        }
        server.ipv6Only = ipv6Only
        do {
            try server.serverBind()
            try server.serverActivate()
        } catch {
            server.serverClose()
            throw error
        }
        return server
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? SystemError { return error.detail ?? SystemError.message(for: error.errno) }
        return "\(error)"
    }

    /// Standard output, unbuffered (the banner must show before the first log line).
    static func writeOut(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }

    static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

