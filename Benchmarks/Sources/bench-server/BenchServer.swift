// `bench-server`: this project's server in the benchmark modes, one process, one reactor thread.
//
//   bench-server hello --port 8080 [--bind 127.0.0.1]
//   bench-server echo --port 8080
//   bench-server static --directory DIR --port 8080
import ArgumentParser
import Glibc
import HTTPServerKit
import Prometheus

@main
struct BenchServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-server",
        abstract: "swift-http-server in benchmark modes: hello, echo, static.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case hello, echo, `static`
    }

    @Argument(help: "hello | echo | static") var mode: Mode
    @Option(help: "TCP port (0: any free port).") var port: Int = 8080
    @Option(help: "Address to bind.") var bind: String = "127.0.0.1"
    @Option(help: "Directory served in static mode.") var directory: String = "."
    @Option(help: "Idle keep-alive timeout in seconds.") var idleTimeout: Int = 600
    @Flag(help: "Bootstrap swift-metrics with swift-prometheus (the cost of metrics, for run.py's ours-metrics).")
    var metrics = false

    func run() throws {
        var configuration = ServerConfiguration()
        if metrics { configuration.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()) }
        configuration.idleTimeout = .seconds(idleTimeout)
        let server: HTTPServer
        switch mode {
        case .hello:
            server = try HTTPServer((bind, port), handler: HelloHandler.self, configuration: configuration,
                                    logDestination: .discard)
        case .echo:
            server = try HTTPServer((bind, port), handler: EchoHandler.self, configuration: configuration,
                                    logDestination: .discard)
        case .static:
            server = try makeStaticServer(bind: bind, port: port, directory: directory,
                                          configuration: configuration)
        }
        if let loop = server.loop {
            try loop.onSignal(SIGTERM) { server.shutdown() }
            try loop.onSignal(SIGINT) { server.shutdown() }
        }
        print("bench-server \(mode.rawValue) on \(server.serverAddress.host):\(server.serverPort)")
        fflush(nil)
        try server.serveForever()
        server.serverClose()
    }
}
