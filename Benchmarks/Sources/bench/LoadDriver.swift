// Runs the connections of one load on one EventLoop: warm-up, measured window, stop.
import BenchClient
import HTTPServerReactor

final class LoadDriver {
    let loop: EventLoop
    let address: SocketAddress
    let template: RequestTemplate
    let depth: Int
    let headBytes: [UInt8]
    let batchBytes: [UInt8]
    let expectedStatus: Int
    /// nil: the first response's body length becomes the expected one.
    var expectedLength: Int?
    let timeoutNanoseconds: Int64
    let continueDelayNanoseconds: Int64
    var stats = LoadStats()
    var connections: [ClientConnection] = []
    var isRunning = false
    var isMeasuring = false
    var measureStart = Instant(nanoseconds: 0)
    var measureEnd = Instant(nanoseconds: 0)

    init(loop: EventLoop, address: SocketAddress, template: RequestTemplate, depth: Int,
         expectedStatus: Int, expectedLength: Int?, timeoutSeconds: Double, continueDelaySeconds: Double) {
        self.loop = loop
        self.address = address
        self.template = template
        self.depth = template.expectContinue ? 1 : max(1, depth)
        self.headBytes = template.head
        self.batchBytes = template.batch(depth: self.depth)
        self.expectedStatus = expectedStatus
        self.expectedLength = expectedLength
        self.timeoutNanoseconds = Int64(timeoutSeconds * 1e9)
        self.continueDelayNanoseconds = Int64(continueDelaySeconds * 1e9)
    }

    /// Opens `count` connections, runs `warmup` then `duration` seconds, and returns the window's length.
    func run(connections count: Int, warmup: Double, duration: Double) throws(SystemError) -> Double {
        isRunning = true
        isMeasuring = warmup <= 0
        let start = Instant.now()
        measureStart = start
        connections = (0..<count).map { _ in ClientConnection(driver: self) }
        for c in connections { c.connect() }

        let sweepInterval = Duration.milliseconds(100)
        var sweep: Timer!
        sweep = Timer { [unowned self] in
            let now = self.loop.now
            for c in self.connections { c.sweep(now: now) }
            if self.isRunning { self.loop.arm(sweep, at: now.advanced(by: sweepInterval)) }
        }
        loop.arm(sweep, at: start.advanced(by: sweepInterval))

        let begin = Timer { [unowned self] in
            self.stats = LoadStats()
            self.isMeasuring = true
            self.measureStart = self.loop.now
        }
        if warmup > 0 { loop.arm(begin, at: start.advanced(by: .nanoseconds(Int64(warmup * 1e9)))) }

        let end = Timer { [unowned self] in
            self.measureEnd = self.loop.now
            self.isMeasuring = false
            self.isRunning = false
            self.loop.disarm(sweep)
            for c in self.connections { c.close() }
            self.loop.stop()
        }
        loop.arm(end, at: start.advanced(by: .nanoseconds(Int64((warmup + duration) * 1e9))))
        try loop.run()
        return Double(measureEnd.nanoseconds - measureStart.nanoseconds) / 1e9
    }

    /// Checks one response (status and length) and records it. False: count an error, drop the connection.
    @inline(__always)
    func check(_ r: ResponseSummary, latency nanoseconds: Int64) -> Bool {
        guard r.status == expectedStatus else {
            count(error: "status")
            return false
        }
        if let expected = expectedLength {
            guard r.bodyLength == expected else {
                count(error: "length")
                return false
            }
        } else {
            expectedLength = r.bodyLength
        }
        if isMeasuring {
            stats.requests += 1
            stats.recordLatency(nanoseconds: nanoseconds)
        }
        return true
    }

    func count(error kind: String, by n: Int = 1) {
        if isMeasuring { stats.errors[kind, default: 0] += n }
    }
}
