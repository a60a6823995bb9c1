// `bench-server`: this project's server in the benchmark modes, one process, one reactor thread.
//
//   bench-server hello --port 8080 [--bind 127.0.0.1]
//   bench-server echo --port 8080
//   bench-server static --directory DIR --port 8080
//   bench-server hello --port 8443 --tls-cert cert.pem --tls-key key.pem     (HTTPS: HTTPSServer)
//   bench-server hello --port 8080 --threads 64     (hello on ThreadingHTTPServer's worker pool)
//   bench-server blocking --port 8080 [--threads 64] (ThreadingHTTPServer; a 10 ms usleep per
//                                                    request; --threads 0: HTTPServer, inline)
//   bench-server async --port 8080                  (an async handler that awaits a 10 ms sleep:
//                                                    sleep(for:); async-task-sleep: Task.sleep)
//   bench-server async-hello --port 8080            (an async handler that never suspends)
//   bench-server sse --port 8080 [--interval 100] [--event-size 64]
//                                                   (server-sent events broadcast to every GET)
//   bench-server hello --port 8080 --stall-probe    (prints `stall <ms>` each second: the loop's
//                                                    longest delay; Benchmarks/mass_events.py)
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
        case hello, echo, `static`, blocking, async, asyncTaskSleep = "async-task-sleep", asyncHello = "async-hello", sse
    }

    @Argument(help: "hello | echo | static | blocking | async | async-task-sleep | async-hello | sse") var mode: Mode
    @Option(help: "TCP port (0: any free port).") var port: Int = 8080
    @Option(help: "Address to bind.") var bind: String = "127.0.0.1"
    @Option(help: "Directory served in static mode.") var directory: String = "."
    @Option(help: "Idle keep-alive timeout in seconds.") var idleTimeout: Int = 600
    @Flag(help: "Bootstrap swift-metrics with swift-prometheus (the cost of metrics, for run.py's ours-metrics).")
    var metrics = false
    @Option(help: "Serve HTTPS with this certificate chain (PEM).") var tlsCert: String?
    @Option(help: "The TLS private key (PEM; default: in --tls-cert).") var tlsKey: String?
    @Option(help: "Worker threads: serve with ThreadingHTTPServer (hello, blocking; default 64 for blocking, 0 = HTTPServer).")
    var threads: Int?
    @Option(help: "sse: milliseconds between two broadcasts.") var interval: Int = 100
    @Option(help: "sse: bytes per event.") var eventSize: Int = 64
    @Flag(help: "Arm a 1 ms timer on the loop and print, each second, `stall <ms>`: how late it fired at worst.")
    var stallProbe = false

    func run() throws {
        var configuration = ServerConfiguration()
        if metrics { configuration.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()) }
        configuration.idleTimeout = .seconds(idleTimeout)
        let tls = tlsCert.map { TLSConfiguration(certificateChainFile: $0, privateKeyFile: tlsKey) }
        let server: HTTPServer
        var threadCount = threads ?? (mode == .blocking ? 64 : 0)
        if threadCount > 0 { configuration.workerThreads = threadCount } else { threadCount = 0 }
        switch mode {
        case .hello:
            server = try makeServer(tls: tls, threads: threadCount, configuration: configuration) { HelloHandler() }
        case .blocking:
            server = try makeServer(tls: tls, threads: threadCount, configuration: configuration) { BlockingHandler() }
        case .async, .asyncTaskSleep:
            AsyncSleepHandler.usesTaskSleep = mode == .asyncTaskSleep
            server = try makeServer(tls: tls, configuration: configuration) { AsyncSleepHandler() }
        case .asyncHello:
            server = try makeServer(tls: tls, configuration: configuration) { AsyncHelloHandler() }
        case .sse:
            let hub = Broadcaster(intervalMilliseconds: interval, eventSize: eventSize)
            EventStreamHandler.hub = hub
            hub.start()
            server = try makeServer(tls: tls, configuration: configuration) { EventStreamHandler() }
        case .echo:
            server = try makeServer(tls: tls, configuration: configuration) { EchoHandler() }
        case .static:
            server = try makeStaticServer(bind: bind, port: port, directory: directory,
                                          configuration: configuration, tls: tls)
        }
        if let loop = server.loop {
            try loop.onSignal(SIGTERM) { server.shutdown() }
            try loop.onSignal(SIGINT) { server.shutdown() }
            if stallProbe { StallProbe(loop: loop).start() }
        }
        print("bench-server \(mode.rawValue)\(tls == nil ? "" : " (HTTPS)") on \(server.serverAddress.host):\(server.serverPort)")
        fflush(nil)
        try server.serveForever()
        server.serverClose()
    }

    private func makeServer(tls: TLSConfiguration?, threads: Int = 0, configuration: ServerConfiguration,
                            _ factory: @escaping () -> BaseHTTPRequestHandler) throws -> HTTPServer {
        if threads > 0 {
            guard tls == nil else { throw ValidationError("--threads with --tls-cert: not yet (ThreadingHTTPSServer)") }
            return try ThreadingHTTPServer((bind, port), configuration: configuration, logDestination: .discard,
                                           handlerFactory: factory)
        }
        if let tls {
            return try HTTPSServer((bind, port), tls: tls, configuration: configuration, logDestination: .discard,
                                   handlerFactory: factory)
        }
        return try HTTPServer((bind, port), configuration: configuration, logDestination: .discard,
                              handlerFactory: factory)
    }
}
