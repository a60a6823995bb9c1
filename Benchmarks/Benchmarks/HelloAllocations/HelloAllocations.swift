// Heap allocations per request for the `hello` handler over an in-memory transport:
// `swift package benchmark --target HelloAllocations`. Each sample sets up a connection, warms it
// with 1,000 requests, then measures 1,000 more (scaling factor kilo: figures are per iteration,
// that is per read wake-up: one request, or one batch of 16 pipelined requests).
import Benchmark
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting

/// The hello handler of `bench-server hello` (kept in step with Sources/bench-server/HelloHandler.swift).
final class Hello: BaseHTTPRequestHandler {
    static let body: [UInt8] = Array("Hello, World!".utf8)
    override var protocolVersion: String { "HTTP/1.1" }
    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Type", "text/plain")
        sendHeader("Content-Length", "13")
        endHeaders()
        wfile.write(Self.body)
    }
    override func logMessage(_ message: String) {}
}

/// A transport that takes every byte and keeps none: what a socket with a fast reader looks like,
/// without the test transport's growing record of written bytes.
final class NullTransport: Transport {
    var delegate: TransportDelegate?
    var bytesWritten = 0
    var writeCalls = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        writeCalls += 1
        bytesWritten += bytes.count
        return .processed(bytes.count)
    }
    func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        writeCalls += 1
        var n = 0
        for b in buffers { n += b.count }
        bytesWritten += n
        return .processed(n)
    }
    func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        writeCalls += 1
        bytesWritten += range.count
        return .processed(range.count)
    }
    func pauseReading() {}
    func resumeReading() {}
    func awaitWritable() {}
    func shutdownWrite() {}
    func close() { delegate = nil }
}

let request = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n".utf8)
let pipelined = Array((0..<16).flatMap { _ in request })

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, .throughput, .wallClock, .instructions],
        timeUnits: .nanoseconds,
        warmupIterations: 5,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 200_000,
        // DESIGN.md: no allocation per request on the hot path in steady state.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    func serve(_ bytes: [UInt8], _ benchmark: Benchmark) throws {
        let clock = ManualClock()
        let server = try HTTPServer(clock: clock, wallClock: { 1_795_000_000 },
                                    logDestination: .discard, handlerFactory: { Hello() })
        let transport = NullTransport()
        server.serveConnection(over: transport, peer: nil)
        bytes.withUnsafeBytes { raw in
            for _ in 0..<1000 { transport.delegate?.bytesReceived(raw) }  // warm: buffers reach their size
            let before = transport.bytesWritten
            transport.delegate?.bytesReceived(raw)
            precondition(transport.bytesWritten > before, "no response")
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                transport.delegate?.bytesReceived(raw)
            }
            benchmark.stopMeasurement()
        }
        blackHole(transport.bytesWritten)
    }

    Benchmark("HelloKeepAlive") { benchmark in
        try serve(request, benchmark)
    }
    Benchmark("HelloPipelined16") { benchmark in
        try serve(pipelined, benchmark)
    }
}
