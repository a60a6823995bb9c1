// libFuzzer target 1: the HTTP/1 request parser.
//
// Input: one flags byte, one split-seed byte, then the bytes a client sends.
//   flags bit 0: tight limits (scaled by bits 4–5) instead of the defaults (Python's)
//   flags bit 1: keep parsing after a message that closes the connection
//   flags bit 2: requireHost
//   flags bit 3: a body limit
// The payload is parsed whole, cut into pieces at points derived from the input, and one byte at a
// time. Invariants: no trap; the three runs agree on every message, field, body byte and error;
// every range the parser returns lies within the buffer it was given; `consumed` never exceeds the
// bytes presented; limits are never exceeded by what is accepted; the parser always makes progress.
import FuzzSupport
import HTTPServerHTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let flags = data[0]
    let splitSeed = data[1]
    let payload = UnsafeBufferPointer(start: data + 2, count: size - 2)

    var limits = ParserLimits()
    if flags & 1 != 0 {
        let scale = 1 + Int(flags >> 4 & 3)
        limits.maxRequestLineLength = 40 * scale
        limits.maxMethodLength = 6 * scale
        limits.maxHeaderLineLength = 40 * scale
        limits.maxHeaderCount = 3 * scale
        limits.maxHeadSize = 160 * scale
        limits.maxChunkLineLength = 12 * scale
        limits.maxTrailerSize = 48 * scale
    }
    if flags & 8 != 0 { limits.maxBodySize = 32 * (1 + Int(flags >> 6)) }
    limits.requireHost = flags & 4 != 0
    let stopsOnClose = flags & 2 == 0

    let whole = Driver.run(payload, cuts: [], limits: limits, stopsOnClose: stopsOnClose)
    var rng = SplitMix(seed: UInt64(splitSeed) &* 0x9E37_79B9 &+ UInt64(payload.count))
    var cuts: [Int] = []
    if payload.count > 1 {
        let pieces = 1 + Int(splitSeed % 8)
        for _ in 0..<pieces { cuts.append(Int(rng.next() % UInt64(payload.count))) }
        cuts.sort()
    }
    let split = Driver.run(payload, cuts: cuts, limits: limits, stopsOnClose: stopsOnClose)
    check(split == whole, "split at \(cuts) differs:\n whole \(whole)\n split \(split)")
    let bytewise = Driver.run(payload, cuts: Array(0..<payload.count), limits: limits, stopsOnClose: stopsOnClose)
    check(bytewise == whole, "bytewise differs:\n whole \(whole)\n bytes \(bytewise)")
    return 0
}


struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A parsed message, as bytes (no Strings: this runs millions of times).
struct Message: Equatable {
    var method: [UInt8] = []
    var target: [UInt8] = []
    var version: [UInt8] = []
    var requestLine: [UInt8] = []
    var headers: [[UInt8]] = []
    var trailers: [[UInt8]] = []
    var body: [UInt8] = []
    var framing: BodyFraming = .none
    /// connectionClose, connectionKeepAlive, expectsContinue, isConnect, isKeepAlive: bits 0–4.
    var flags: UInt8 = 0
}

struct Outcome: Equatable, CustomStringConvertible {
    var messages: [Message] = []
    var error: ParseError?
    var incompleteAtEOF = false
    var description: String {
        "\(messages.count) messages \(messages.map { String(decoding: $0.requestLine, as: UTF8.self) }) error=\(String(describing: error)) incomplete=\(incompleteAtEOF)"
    }
}

/// The caller's side of the parser contract, as HTTPConnection implements it: present the
/// unconsumed bytes (with new ones appended), drop what each step consumed, reset after `.end`.
struct Driver {
    var parser: RequestParser
    let limits: ParserLimits
    let stopsOnClose: Bool
    var pending: [UInt8] = []
    var start = 0
    var outcome = Outcome()
    var current: Message?
    var bodyTotal = 0
    var stopped = false

    static func run(_ payload: UnsafeBufferPointer<UInt8>, cuts: [Int], limits: ParserLimits, stopsOnClose: Bool) -> Outcome {
        var driver = Driver(parser: RequestParser(limits: limits), limits: limits, stopsOnClose: stopsOnClose)
        var from = 0
        for cut in cuts + [payload.count] where cut > from {
            driver.feed(UnsafeBufferPointer(rebasing: payload[from..<cut]))
            from = cut
        }
        if !driver.stopped && driver.parser.isMidMessage { driver.outcome.incompleteAtEOF = true }
        return driver.outcome
    }

    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard !stopped else { return }
        if start > 0 && start == pending.count {
            pending.removeAll(keepingCapacity: true)
            start = 0
        }
        pending.append(contentsOf: chunk)
        var steps = 0
        while !stopped {
            steps += 1
            check(steps < 4 * pending.count + 64, "parser makes no progress")
            let window = pending.count - start
            let consumed: Int? = pending.withUnsafeBytes { all in
                step(UnsafeRawBufferPointer(rebasing: all[start...]), window)
            }
            guard let consumed else { break }
            start += consumed
        }
    }

    /// One parse call over `buffer`; returns the bytes consumed, or nil to wait for more input.
    mutating func step(_ buffer: UnsafeRawBufferPointer, _ count: Int) -> Int? {
        let result: ParseStep
        do throws(ParseError) {
            result = try parser.parse(buffer)
        } catch {
            outcome.error = error
            stopped = true
            return nil
        }
        func bytes(_ range: Range<Int>, within limit: Int) -> [UInt8] {
            check(range.lowerBound >= 0 && range.upperBound <= limit, "range \(range) outside 0..<\(limit)")
            return Array(buffer[range])
        }
        switch result {
        case .needMore(let consumed):
            check(consumed >= 0 && consumed <= count, "needMore consumed \(consumed) of \(count)")
            return consumed == 0 ? nil : consumed
        case .head(let consumed):
            check(current == nil, ".head twice")
            check(consumed > 0 && consumed <= count, "head consumed \(consumed) of \(count)")
            let head = parser.head
            var message = Message()
            message.method = bytes(head.method, within: consumed)
            message.target = bytes(head.target, within: consumed)
            message.version = bytes(head.versionToken, within: consumed)
            message.requestLine = bytes(head.requestLine, within: consumed)
            check(!message.method.isEmpty, "empty method")
            check(head.requestLine.count <= limits.maxRequestLineLength, "request line over the limit")
            check(head.method.count <= limits.maxMethodLength, "method over the limit")
            check(head.headers.count <= limits.maxHeaderCount, "\(head.headers.count) header fields over the limit")
            check(consumed <= limits.maxHeadSize + 2, "head of \(consumed) bytes over the limit")
            for field in head.headers {
                let name = bytes(field.name, within: consumed)
                check(!name.isEmpty, "empty header name")
                check(field.value.upperBound - field.name.lowerBound <= limits.maxHeaderLineLength, "header line over the limit")
                message.headers.append(name)
                message.headers.append(bytes(field.value, within: consumed))
            }
            message.framing = head.framing
            if case .contentLength(let n) = head.framing {
                check(n >= 0, "negative Content-Length")
                if let max = limits.maxBodySize { check(n <= max, "Content-Length over the body limit") }
            }
            message.flags = (head.connectionClose ? 1 : 0) | (head.connectionKeepAlive ? 2 : 0)
                | (head.expectsContinue ? 4 : 0) | (head.isConnect ? 8 : 0) | (head.isKeepAlive ? 16 : 0)
            current = message
            bodyTotal = 0
            return consumed
        case .body(let range):
            check(current != nil, ".body before .head")
            check(!range.isEmpty, "empty body range")
            // Appended in place: a body fed one byte at a time would otherwise make an array a byte.
            check(range.lowerBound >= 0 && range.upperBound <= count, "range \(range) outside 0..<\(count)")
            current!.body.append(contentsOf: buffer[range])
            bodyTotal += range.count
            if let max = limits.maxBodySize { check(bodyTotal <= max, "body over the limit") }
            return range.upperBound
        case .end(let consumed):
            check(consumed >= 0 && consumed <= count, "end consumed \(consumed) of \(count)")
            guard var message = current else {
                check(false, ".end before .head")
                return nil
            }
            if case .contentLength(let n) = message.framing { check(message.body.count == n, "body \(message.body.count) != Content-Length \(n)") }
            if message.framing == .none { check(message.body.isEmpty, "body without framing") }
            check(parser.trailers.count <= limits.maxHeaderCount, "too many trailers")
            for field in parser.trailers {
                message.trailers.append(bytes(field.name, within: consumed))
                message.trailers.append(bytes(field.value, within: consumed))
            }
            outcome.messages.append(message)
            current = nil
            if stopsOnClose && !parser.head.isKeepAlive {
                stopped = true
            } else {
                parser.reset()
            }
            return consumed
        }
    }
}

@_cdecl("FuzzParser_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzParser)
}
