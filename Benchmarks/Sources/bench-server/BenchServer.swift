// `bench-server`: this project's server in the benchmark modes, one process, one reactor thread
// (or N with --reactors N).
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
//   bench-server hello --port 8080 --reactors 2     (two event loops, one listening socket; at exit
//                                                    it prints `reactor <i> connections <n>`)
//   bench-server hello --port 8080 --stall-probe    (prints `stall <ms>` each second: the loop's
//                                                    longest delay; Benchmarks/mass_events.py)
import ArgumentParser
import Glibc
import HTTPServerKit
import HTTPServerReactor
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
    @Option(help: "Event loops (reactors), each on a thread of its own, sharing the listening socket.")
    var reactors: Int = 1
    @Flag(help: "Arm a 1 ms timer on the loop and print, each second, `stall <ms>`: how late it fired at worst.")
    var stallProbe = false

    func validate() throws {
        guard reactors >= 1 else { throw ValidationError("--reactors must be 1 or more, not \(reactors)") }
    }

    func run() throws {
        var configuration = ServerConfiguration()
        configuration.reactors = reactors
        // With several reactors, count the connections each serves (a handler is made per
        // connection, on its reactor's thread); nothing is counted with one.
        let tally = ReactorTally(reactors: reactors)
        let counted: (@escaping () -> BaseHTTPRequestHandler) -> () -> BaseHTTPRequestHandler = { make in
            reactors == 1 ? make : { tally.connectionStarted(); return make() }
        }
        if metrics { configuration.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()) }
        configuration.idleTimeout = .seconds(idleTimeout)
        let tls = tlsCert.map { TLSConfiguration(certificateChainFile: $0, privateKeyFile: tlsKey) }
        let server: HTTPServer
        var threadCount = threads ?? (mode == .blocking ? 64 : 0)
        if threadCount > 0 { configuration.workerThreads = threadCount } else { threadCount = 0 }
        switch mode {
        case .hello:
            server = try makeServer(tls: tls, threads: threadCount, configuration: configuration, counted { HelloHandler() })
        case .blocking:
            server = try makeServer(tls: tls, threads: threadCount, configuration: configuration, counted { BlockingHandler() })
        case .async, .asyncTaskSleep:
            AsyncSleepHandler.usesTaskSleep = mode == .asyncTaskSleep
            server = try makeServer(tls: tls, configuration: configuration, counted { AsyncSleepHandler() })
        case .asyncHello:
            server = try makeServer(tls: tls, configuration: configuration, counted { AsyncHelloHandler() })
        case .sse:
            let hub = Broadcaster(intervalMilliseconds: interval, eventSize: eventSize)
            EventStreamHandler.hub = hub
            hub.start()
            server = try makeServer(tls: tls, configuration: configuration, counted { EventStreamHandler() })
        case .echo:
            server = try makeServer(tls: tls, configuration: configuration, counted { EchoHandler() })
        case .static:
            server = try makeStaticServer(bind: bind, port: port, directory: directory,
                                          configuration: configuration, tls: tls)
        }
        if let loop = server.loop {
            try loop.onSignal(SIGTERM) { server.shutdown() }
            try loop.onSignal(SIGINT) { server.shutdown() }
            if stallProbe { StallProbe(loop: loop).start() }
        }
        tally.server = server
        print("bench-server \(mode.rawValue)\(tls == nil ? "" : " (HTTPS)") on \(server.serverAddress.host):\(server.serverPort)"
              + (reactors > 1 ? " (\(reactors) reactors)" : ""))
        fflush(nil)
        try server.serveForever()
        server.serverClose()
        if reactors > 1 {
            for (index, count) in tally.counts.enumerated() { print("reactor \(index) connections \(count)") }
            fflush(nil)
        }
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

/// Connections served by each reactor (their handlers are made on the reactor's thread).
final class ReactorTally: @unchecked Sendable {
    weak var server: HTTPServer?
    private var mutex = pthread_mutex_t()
    private var perReactor: [Int]

    init(reactors: Int) {
        perReactor = Array(repeating: 0, count: reactors)
        pthread_mutex_init(&mutex, nil)
    }

    func connectionStarted() {
        guard let index = server?.loops.firstIndex(where: { $0.inLoopThread }) else { return }
        pthread_mutex_lock(&mutex)
        perReactor[index] += 1
        pthread_mutex_unlock(&mutex)
    }

    var counts: [Int] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return perReactor
    }
}
