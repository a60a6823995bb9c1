import HTTPServerHTTP1
import Testing

/// A request as the tests see it: the parser's ranges turned into Latin-1 strings
/// (each byte is the code point of the same value, as conformance-requests.json writes them).
struct ParsedMessage: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var headers: [[String]]
    var trailers: [[String]] = []
    var body: [UInt8] = []
    var framing: BodyFraming = .none
    var connectionClose = false
    var connectionKeepAlive = false
    var expectsContinue = false
    var isConnect = false
    var isKeepAlive = true

    var description: String {
        "\(method) \(target) \(version) \(headers) trailers=\(trailers) body=\(latin1(body)[...]) \(framing)"
    }
}

/// Everything a run of the parser over some input produced.
struct Outcome: Equatable, CustomStringConvertible {
    var messages: [ParsedMessage] = []
    var error: ParseError? = nil
    /// Input ran out with a request partly received (`isMidMessage`).
    var isIncompleteAtEOF = false
    /// The driver stopped after a message that closes the connection.
    var closedAfterMessage = false

    var description: String {
        "messages=\(messages) error=\(error.map(\.description) ?? "nil") incomplete=\(isIncompleteAtEOF) closed=\(closedAfterMessage)"
    }
}

func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = ""
    s.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return s
}

func latin1Bytes(_ s: String) -> [UInt8] {
    s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
}

/// The caller's side of the parser contract, as a connection implements it: keep the
/// unconsumed tail, append new bytes, drop what each step consumed, reset after `.end`.
struct ParserDriver {
    var parser: RequestParser
    var pending: [UInt8] = []
    var outcome = Outcome()
    var current: ParsedMessage? = nil
    var isStopped = false
    /// Stop after a message the connection would close after (Connection: close, HTTP/1.0
    /// without keep-alive, HTTP/0.9, CONNECT): what follows is never parsed.
    var stopsOnClose: Bool

    init(limits: ParserLimits = .hostOptional, stopsOnClose: Bool = true) {
        parser = RequestParser(limits: limits)
        self.stopsOnClose = stopsOnClose
    }

    mutating func feed<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        guard !isStopped else { return }
        pending.append(contentsOf: chunk)
        var guardSteps = 0
        while !isStopped {
            guardSteps += 1
            precondition(guardSteps < 1_000_000, "parser makes no progress")
            let snapshot = pending
            let consumed: Int? = snapshot.withUnsafeBytes { buffer -> Int? in
                let step: ParseStep
                do throws(ParseError) {
                    step = try parser.parse(buffer)
                } catch {
                    outcome.error = error
                    isStopped = true
                    return 0
                }
                switch step {
                case .needMore(let consumed):
                    precondition(consumed <= buffer.count)
                    return consumed == 0 ? nil : -consumed  // negative: consumed, then wait for more
                case .head(let consumed):
                    let head = parser.head
                    current = ParsedMessage(
                        method: latin1(buffer[head.method]),
                        target: latin1(buffer[head.target]),
                        version: latin1(buffer[head.versionToken]),
                        headers: head.headers.map { [latin1(buffer[$0.name]), latin1(buffer[$0.value])] },
                        framing: head.framing,
                        connectionClose: head.connectionClose,
                        connectionKeepAlive: head.connectionKeepAlive,
                        expectsContinue: head.expectsContinue,
                        isConnect: head.isConnect,
                        isKeepAlive: head.isKeepAlive)
                    #expect(latin1(buffer[head.requestLine]).hasPrefix(latin1(buffer[head.method])))
                    return consumed
                case .body(let range):
                    precondition(!range.isEmpty && range.upperBound <= buffer.count, "bad body range \(range)")
                    current?.body.append(contentsOf: buffer[range])
                    return range.upperBound
                case .end(let consumed):
                    guard var message = current else {
                        Issue.record(".end without .head")
                        isStopped = true
                        return 0
                    }
                    message.trailers = parser.trailers.map { [latin1(buffer[$0.name]), latin1(buffer[$0.value])] }
                    outcome.messages.append(message)
                    current = nil
                    if stopsOnClose && !message.isKeepAlive {
                        outcome.closedAfterMessage = true
                        isStopped = true
                    } else {
                        parser.reset()
                    }
                    return consumed
                }
            }
            guard let consumed else { break }
            if consumed < 0 {
                pending.removeFirst(-consumed)
                break
            }
            pending.removeFirst(consumed)
        }
    }

    mutating func finish() -> Outcome {
        if !isStopped && parser.isMidMessage { outcome.isIncompleteAtEOF = true }
        return outcome
    }

    /// Runs `bytes` fed in `pieces` (cut at the given ascending offsets).
    static func run(_ bytes: [UInt8], cuts: [Int], limits: ParserLimits = .hostOptional, stopsOnClose: Bool = true) -> Outcome {
        var driver = ParserDriver(limits: limits, stopsOnClose: stopsOnClose)
        var start = 0
        for cut in cuts + [bytes.count] where cut >= start {
            driver.feed(bytes[start..<cut])
            start = cut
        }
        return driver.finish()
    }

    static func whole(_ bytes: [UInt8], limits: ParserLimits = .hostOptional, stopsOnClose: Bool = true) -> Outcome {
        run(bytes, cuts: [], limits: limits, stopsOnClose: stopsOnClose)
    }

    static func bytewise(_ bytes: [UInt8], limits: ParserLimits = .hostOptional, stopsOnClose: Bool = true) -> Outcome {
        var driver = ParserDriver(limits: limits, stopsOnClose: stopsOnClose)
        for b in bytes { driver.feed(CollectionOfOne(b)) }
        return driver.finish()
    }

    /// Split points for "split at every index"; large inputs are sampled to keep the suite fast.
    static func splitPoints(_ count: Int) -> [Int] {
        if count <= 4096 { return Array(0...count) }
        return Array(0...1024) + Array(stride(from: 1025, to: count - 1024, by: 997)) + Array((count - 1024)...count)
    }

    /// Feeds whole, split at every index, and one byte at a time; records an issue if they
    /// disagree, and returns the whole-buffer outcome.
    static func allWays(_ bytes: [UInt8], limits: ParserLimits = .hostOptional, stopsOnClose: Bool = true,
                        sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let reference = whole(bytes, limits: limits, stopsOnClose: stopsOnClose)
        for k in splitPoints(bytes.count) {
            let split = run(bytes, cuts: [k], limits: limits, stopsOnClose: stopsOnClose)
            if split != reference {
                Issue.record("split at \(k) differs:\n  whole: \(reference)\n  split: \(split)", sourceLocation: sourceLocation)
                break
            }
        }
        let bytewiseOutcome = bytewise(bytes, limits: limits, stopsOnClose: stopsOnClose)
        if bytewiseOutcome != reference {
            Issue.record("bytewise differs:\n  whole: \(reference)\n  bytewise: \(bytewiseOutcome)", sourceLocation: sourceLocation)
        }
        return reference
    }
}

extension ParserLimits {
    /// The defaults without the missing-Host rule (`requireHost`). The parser tests that are about
    /// other rules use it: most of their requests are HTTP/1.1 without Host. HostTests and the
    /// conformance cases use the defaults.
    static let hostOptional: ParserLimits = {
        var limits = ParserLimits()
        limits.requireHost = false
        return limits
    }()
}
