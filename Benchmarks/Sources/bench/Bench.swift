// `bench`: the project's HTTP/1.1 load generator, on the project's own Reactor (one thread).
//
//   bench --port 8080 --connections 64 --duration 5 [--pipeline 16] [--close]
//         [--method POST --body-size 4096 --expect-continue] [--header 'K: V'] [--json] [--latency]
import ArgumentParser
import BenchClient
import CHTTPServerReactor
import HTTPServerReactor

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "HTTP/1.1 load generator on the project's Reactor: one thread, N connections.")

    @Option(help: "Server address (numeric or name).") var host: String = "127.0.0.1"
    @Option(help: "Server port.") var port: Int
    @Option(help: "Request target.") var path: String = "/"
    @Option(name: [.short, .long], help: "Connections.") var connections: Int = 64
    @Option(help: "Requests written at once per connection (pipelining depth).") var pipeline: Int = 1
    @Option(name: [.short, .long], help: "Measured seconds.") var duration: Double = 5
    @Option(help: "Warm-up seconds before measuring.") var warmup: Double = 1
    @Flag(help: "Send `Connection: close`: one request per connection.") var close = false
    @Option(help: "Request method.") var method: String = "GET"
    @Option(help: "Extra header line `Name: value` (repeatable).") var header: [String] = []
    @Option(help: "Body of this many bytes ('a').") var bodySize: Int = 0
    @Flag(help: "Send `Expect: 100-continue` and the body after `100 Continue`.") var expectContinue = false
    @Option(help: "Seconds to wait for 100 Continue before sending the body anyway.") var continueDelay: Double = 1
    @Option(help: "Status every response must have.") var expectStatus: Int = 200
    @Option(help: "Body length every response must have (default: the first response's).") var expectLength: Int?
    @Option(help: "Seconds before an unanswered batch counts as a timeout.") var timeout: Double = 5
    @Option(help: "Pin the load thread to this CPU (-1: leave it).") var cpu: Int = -1
    @Option(help: "Bytes one read may return (the loop's shared read buffer).") var readBuffer: Int = 256 * 1024
    @Flag(help: "Print one JSON line after the summary.") var json = false
    @Flag(help: "Print the latency distribution as an HdrHistogram percentile table, as wrk2 --latency does.")
    var latency = false

    func validate() throws {
        guard connections > 0, pipeline > 0, duration > 0 else {
            throw ValidationError("connections, pipeline and duration must be positive")
        }
        if expectContinue && pipeline > 1 {
            throw ValidationError("--expect-continue waits for each 100 Continue: use --pipeline 1")
        }
    }

    func run() throws {
        if cpu >= 0 && creactor_pin_thread_to_cpu(Int32(cpu)) != 0 {
            throw ValidationError("cannot pin to CPU \(cpu)")
        }
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        guard let address = try SocketAddress.resolve(host: host, port: port, passive: false).first else {
            throw ValidationError("cannot resolve \(host)")
        }
        let template = RequestTemplate(
            method: method, path: path, host: address.isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)",
            headers: header, body: Array(repeating: UInt8(ascii: "a"), count: bodySize),
            expectContinue: expectContinue, connectionClose: close)
        let loop = try EventLoop(readBufferSize: readBuffer)
        let driver = LoadDriver(
            loop: loop, address: address, template: template, depth: pipeline,
            expectedStatus: expectStatus, expectedLength: expectLength,
            timeoutSeconds: timeout, continueDelaySeconds: continueDelay)
        print("bench \(method) http://\(address)\(path)")
        let window = try driver.run(connections: connections, warmup: warmup, duration: duration)
        print(driver.stats.text(durationSeconds: window, connections: connections, pipeline: driver.depth))
        if latency {
            print(driver.stats.percentileTable())
        }
        if json {
            print(driver.stats.json(durationSeconds: window, connections: connections, pipeline: driver.depth))
        }
    }
}
