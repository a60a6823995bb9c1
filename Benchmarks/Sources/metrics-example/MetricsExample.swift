// `metrics-example`: swift-http-server with its swift-metrics exported by swift-prometheus.
//
//   swift run -c release --package-path Benchmarks metrics-example [port]
//   curl localhost:8000/            # hello
//   curl localhost:8000/metrics     # Prometheus text format
//
// It lives in the Benchmarks package, not in the root one: the server depends on swift-metrics'
// CoreMetrics only, and an application chooses (and builds) its own backend.
import CoreMetrics
import Glibc
import HTTPServerKit
import Prometheus

let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

final class Handler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        let body: [UInt8]
        let type: String
        if path == "/metrics" {
            body = registry.emitToBuffer()
            type = "text/plain; version=0.0.4; charset=utf-8"
        } else {
            body = Array("Hello, world!\n".utf8)
            type = "text/plain"
        }
        sendResponse(200)
        sendHeader("Content-Type", type)
        sendHeader("Content-Length", String(body.count))
        endHeaders()
        wfile.write(body)
    }
}

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8000
let server = try HTTPServer(("127.0.0.1", port), handler: Handler.self)
print("metrics-example on http://127.0.0.1:\(server.serverPort)/metrics")
fflush(nil)
try server.serveForever()
