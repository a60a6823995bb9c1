// libFuzzer target 2: the whole connection state machine over the fake transport, with virtual time.
//
// Input: 32 decision bytes, then the bytes the client sends. The decision bytes (read in order, and
// cycled once used up) choose the server configuration, how the input is split, what happens
// between the pieces (the clock moves, the client stops or resumes reading, half-closes, resets),
// and what the handler does with each request (answer, throw, defer, stream the body, pause it,
// write too much or too little, send a file, answer in pieces as the output drains, refuse
// 100-continue, ...). A zero decision prefix sends the request whole to a handler that answers 200.
//
// Invariants: no trap (ASan on); after the client has gone and time has run past every timeout,
// the connection is closed, the server holds no connection and no timer is left armed; every file
// descriptor a handler passed to `wfile.sendFile` is closed; the output is a sequence of well-formed
// responses whose status lines are exactly those the handler (or the server, through it) sent, and
// nothing follows a response that ends the connection (an error or `Connection: close`): no 2xx
// after an error, no desynchronised framing.
import FuzzSupport
import Glibc
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting

let prefixLength = 32

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConnection(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let prefix = Array(UnsafeBufferPointer(start: data, count: min(size, prefixLength)))
    let payload = size > prefixLength ? Array(UnsafeBufferPointer(start: data + prefixLength, count: size - prefixLength)) : []
    FuzzRun(prefix: prefix).run(payload)
    return 0
}

@_cdecl("FuzzConnection_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzConnection)
}


/// The decision bytes, read in order; cycled (perturbed) once used up.
struct Decisions {
    let bytes: [UInt8]
    var index = 0
    mutating func next() -> UInt8 {
        guard !bytes.isEmpty else { return 0 }
        defer { index += 1 }
        let b = bytes[index % bytes.count]
        return index < bytes.count ? b : b &+ UInt8(truncatingIfNeeded: index / bytes.count) &* 37
    }
    mutating func below(_ n: Int) -> Int { Int(next()) % n }
}

/// One status line the handler sent, and whether it answers a HEAD request (no body follows).
struct Record { var code: Int; var isHEAD: Bool }

/// FUZZ_TRACE=1: print what each run does (to replay a crash and see why).
let isTracing = getenv("FUZZ_TRACE") != nil

func trace(_ text: @autoclosure () -> String) {
    if isTracing {
        var line = Array((text() + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// The run in progress (the fuzzer is single-threaded; handlers find it here).
nonisolated(unsafe) var current: FuzzRun!

/// A file for `wfile.sendFile`, created once.
let filePath: String = {
    let path = "/tmp/fuzz-connection-\(getpid()).bin"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var content = [UInt8](repeating: UInt8(ascii: "f"), count: FuzzRun.fileSize)
    _ = content.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    return path
}()

/// Bytes that response bodies are cut from.
let filler = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 17)

final class FuzzRun {
    static let fileSize = 40_000
    var decisions: Decisions
    let clock = ManualClock()
    let isHTTP11: Bool
    var records: [Record] = []
    var openedDescriptors: [Int32] = []
    /// Errors handlers threw (reported to `HTTPServer.handleError`).
    var handlerErrorCount = 0
    /// What the test's end runs: deferred responses that wait for it, paused streams.
    var cleanups: [() -> Void] = []
    let configuration: ServerConfiguration

    init(prefix: [UInt8]) {
        decisions = Decisions(bytes: prefix)
        let flags = decisions.next()
        isHTTP11 = flags & 1 == 0
        var configuration = ServerConfiguration()
        if flags & 2 != 0 {
            configuration.limits.maxRequestLineLength = 80
            configuration.limits.maxHeaderLineLength = 80
            configuration.limits.maxHeaderCount = 6
            configuration.limits.maxHeadSize = 400
            configuration.limits.maxBodySize = 300
            configuration.headTimeout = .seconds(1)
            configuration.bodyTimeout = .seconds(1)
            configuration.idleTimeout = .seconds(2)
            configuration.sendTimeout = .seconds(1)
            configuration.lingerTimeout = .milliseconds(500)
            configuration.outputHighWatermark = 1024
        }
        if flags & 4 != 0 { configuration.maxRequestsPerConnection = 1 + Int(flags >> 5) }
        configuration.limits.requireHost = flags & 8 != 0  // both ways: the default is now true
        if flags & 16 != 0 { configuration.limits.maxBodySize = nil }
        self.configuration = configuration
    }

    func next() -> UInt8 { decisions.next() }
    func below(_ n: Int) -> Int { decisions.below(n) }

    /// Runs `body` after `delay` of virtual time.
    func later(_ delay: Duration, _ body: @escaping () -> Void) {
        clock.arm(Timer(body), after: delay)
    }

    static let delays: [Duration] = [.milliseconds(1), .milliseconds(300), .milliseconds(1100), .milliseconds(2500),
                                     .seconds(61), .seconds(80)]

    func run(_ payload: [UInt8]) {
        current = self
        defer { current = nil }
        let server: HTTPServer
        do {
            server = try FuzzServer(clock: clock, wallClock: { 1_795_000_000 }, configuration: configuration,
                                    logDestination: .discard, handlerFactory: { FuzzHandler() })
        } catch {
            fatalError("server: \(error)")
        }
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)

        var offset = 0
        var isHalfClosed = false
        var isReset = false
        var neverReads = false
        func send(_ count: Int) {
            let end = min(payload.count, offset + max(1, count))
            transport.send(Array(payload[offset..<end]))
            offset = end
        }
        while offset < payload.count && !transport.isClosed {
            let op = next() % 16
            trace("op \(op) at \(offset)/\(payload.count), now \(clock.now)")
            switch op {
            case 0, 14, 15: send(payload.count)
            case 1, 2, 3: send(1 + below(8))
            case 4, 5, 6: send(1 + Int(next()) * 2)
            case 7: clock.advance(by: Self.delays[below(Self.delays.count)])
            case 8:
                let window = Int(next()) * 8
                trace("  stop reading after \(window)")
                transport.stopReading(after: window)
            case 9: transport.resumeReading(next() % 2 == 0 ? nil : Int(next()) * 64)
            case 10: clock.advance(by: .milliseconds(Int(next())))
            case 11:
                // Half-close in the middle of the input: the rest is never sent.
                transport.sendEndOfInput()
                isHalfClosed = true
            case 12:
                if next() % 4 == 0 {
                    transport.reset()
                    isReset = true
                } else {
                    send(1 + below(64))
                }
            case 13: clock.advance(by: .seconds(1))
            default: break
            }
            if isHalfClosed || isReset { break }
        }
        if !isHalfClosed && !isReset && !transport.isClosed {
            let op = next() % 6
            trace("after input: \(op)")
            switch op {
            case 0: transport.reset(); isReset = true
            case 1: clock.advance(by: Self.delays[below(Self.delays.count)])
            case 2: transport.stopReading(after: below(4096)); neverReads = true
            default: break
            }
        }

        // The client goes away (or stops reading for good), and time runs past every timeout.
        trace("cleanup: closed=\(transport.isClosed) written=\(transport.written.count) connections=\(server.connectionCount) timers=\(clock.armedCount)")
        if !neverReads { transport.resumeReading(nil) }
        if !isHalfClosed && !isReset { transport.sendEndOfInput() }
        for _ in 0..<40 {
            while !cleanups.isEmpty {
                let work = cleanups
                cleanups.removeAll()
                work.forEach { $0() }
            }
            clock.advance(by: .seconds(10))
        }
        check(transport.isClosed, "connection still open at the end")
        check(server.connectionCount == 0, "server still holds \(server.connectionCount) connection(s)")
        check(clock.armedCount == 0, "\(clock.armedCount) timer(s) still armed")
        for fd in openedDescriptors {
            check(fcntl(fd, F_GETFD) == -1, "file descriptor \(fd) from wfile.sendFile leaked")
        }
        checkOutput(transport.written)
    }
}

struct PlannedFailure: Error {}

/// A server whose `handleError` (Python's `handle_error`) only counts: the default prints each
/// error a handler throws to standard error, through a log writer thread started for the purpose,
/// which in a run of millions of inputs is a thread and a write for one input in a hundred and a
/// log of gigabytes.
final class FuzzServer: HTTPServer, @unchecked Sendable {
    override func handleError(_ error: any Error, clientAddress: SocketAddress?) {
        current.handlerErrorCount += 1
    }
}
