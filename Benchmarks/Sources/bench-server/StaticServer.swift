import HTTPServerKit

/// `static` mode: SimpleHTTPRequestHandler over `directory`, HTTP/1.1 keep-alive, no access log.
func makeStaticServer(bind: String, port: Int, directory: String,
                      configuration: ServerConfiguration, tls: TLSConfiguration? = nil) throws -> HTTPServer {
    var handlerConfiguration = SimpleHTTPRequestHandler.Configuration(directory: directory)
    handlerConfiguration.protocolVersion = "HTTP/1.1"
    let settings = handlerConfiguration
    if let tls {
        return try HTTPSServer((bind, port), tls: tls, configuration: configuration, logDestination: .discard,
                               handlerFactory: { SimpleHTTPRequestHandler(configuration: settings) })
    }
    return try HTTPServer((bind, port), configuration: configuration, logDestination: .discard,
                          handlerFactory: { SimpleHTTPRequestHandler(configuration: settings) })
}
