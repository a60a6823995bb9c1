import HTTPServerKit

struct StaticModeUnavailable: Error, CustomStringConvertible {
    var description: String { "static mode needs SimpleHTTPRequestHandler, which HTTPServerKit does not have yet" }
}

/// `static` mode: SimpleHTTPRequestHandler over `directory`, HTTP/1.1, no access log.
func makeStaticServer(bind: String, port: Int, directory: String,
                      configuration: ServerConfiguration) throws -> HTTPServer {
    throw StaticModeUnavailable()
}
