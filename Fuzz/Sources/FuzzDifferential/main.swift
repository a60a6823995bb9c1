// libFuzzer target 3: differential framing against llhttp (strict mode).
//
// Input: the bytes a client sends on one connection. Both parsers read them as a server would
// (ours through the parser contract, llhttp paused after each message) and must agree on framing:
// how many requests there are, where each one ends, how long each body is, whether the connection
// stays open after it, and whether the bytes are accepted or rejected. Requests and bodies are
// compared by offset and length only: field values are each parser's business.
//
// Where the two disagree on purpose, the disagreement is a `Divergence`, each written down in
// docs/reliability.md (*Differential fuzzing against llhttp*) with the RFC text that makes ours
// right. Any other disagreement stops the run and saves the input.
import CLLHTTP
import FuzzSupport
import HTTPServerHTTP1

/// The server side of the comparison: what our parser makes of the stream.
struct OurFraming {
    struct Message: Equatable {
        var end: Int
        var body: Int
        var isKeepAlive: Bool
        var isConnect: Bool
        var version: HTTPVersion
        /// A trailer field named Transfer-Encoding or Content-Length.
        var hasFramingTrailer: Bool
        /// A trailer field named Connection.
        var hasConnectionTrailer: Bool
    }
    var messages: [Message] = []
    var error: ParseError?
    var isIncomplete = false

    /// Limits out of the way: llhttp has none of ours (and inputs are at most a few KiB).
    static let limits: ParserLimits = {
        var limits = ParserLimits()
        limits.maxRequestLineLength = 1 << 30
        limits.maxMethodLength = 1 << 30
        limits.maxHeaderLineLength = 1 << 30
        limits.maxHeaderCount = 1 << 30
        limits.maxHeadSize = 1 << 30
        limits.maxChunkLineLength = 1 << 30
        limits.maxTrailerSize = 1 << 30
        limits.maxBodySize = nil
        return limits
    }()

    init(_ data: UnsafeRawBufferPointer) {
        var parser = RequestParser(limits: Self.limits)
        var offset = 0
        var body = 0
        var current: (isKeepAlive: Bool, isConnect: Bool, version: HTTPVersion)?
        while true {
            let step: ParseStep
            do throws(ParseError) {
                step = try parser.parse(UnsafeRawBufferPointer(rebasing: data[offset...]))
            } catch {
                self.error = error
                return
            }
            switch step {
            case .needMore(let consumed):
                offset += consumed
                if consumed == 0 {
                    isIncomplete = parser.isMidMessage
                    return
                }
            case .head(let consumed):
                offset += consumed
                body = 0
                let head = parser.head
                current = (head.isKeepAlive, head.isConnect, head.version)
            case .body(let range):
                body += range.count
                offset += range.upperBound
            case .end(let consumed):
                offset += consumed
                guard let head = current else { check(false, ".end before .head"); return }
                let trailerBuffer = UnsafeRawBufferPointer(rebasing: data[(offset - consumed)...])
                let hasFramingTrailer = parser.trailers.contains { field in
                    let name = trailerBuffer[field.name].map { $0 | 0x20 }
                    return name.elementsEqual("transfer-encoding".utf8) || name.elementsEqual("content-length".utf8)
                }
                let hasConnectionTrailer = parser.trailers.contains { field in
                    trailerBuffer[field.name].map { $0 | 0x20 }.elementsEqual("connection".utf8)
                }
                messages.append(Message(end: offset, body: body, isKeepAlive: head.isKeepAlive,
                                        isConnect: head.isConnect, version: head.version,
                                        hasFramingTrailer: hasFramingTrailer, hasConnectionTrailer: hasConnectionTrailer))
                current = nil
                // A server stops reading requests after one that ends the connection.
                if !head.isKeepAlive || messages.count >= Int(DFZ_MAX_MESSAGES) { return }
                parser.reset()
            }
        }
    }
}

func describe(_ theirs: dfz_result) -> String {
    var messages: [String] = []
    withUnsafeBytes(of: theirs.messages) { raw in
        let all = raw.bindMemory(to: dfz_message.self)
        for k in 0..<min(Int(theirs.count), all.count) {
            let m = all[k]
            messages.append("end \(m.end) body \(m.body) keepAlive \(m.keep_alive) HTTP/\(m.http_major).\(m.http_minor)")
        }
    }
    let reason = theirs.reason.map { String(cString: $0) } ?? "-"
    return "llhttp: \(messages) error \(theirs.error) at \(theirs.error_pos) (\(reason)) inMessage \(theirs.in_message) upgrade \(theirs.upgrade) closed \(theirs.closed)"
}

func describe(_ ours: OurFraming) -> String {
    "ours: \(ours.messages.map { "end \($0.end) body \($0.body) keepAlive \($0.isKeepAlive)" }) error \(ours.error.map { "\($0)" } ?? "-") incomplete \(ours.isIncomplete)"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDifferential(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let ours = OurFraming(bytes)
    var theirs = dfz_result()
    dfz_llhttp_frame(data, size, &theirs)
    let theirMessages: [dfz_message] = withUnsafeBytes(of: theirs.messages) { raw in
        Array(raw.bindMemory(to: dfz_message.self).prefix(min(Int(theirs.count), Int(DFZ_MAX_MESSAGES))))
    }
    func fail(_ what: String) {
        check(false, "\(what)\n \(describe(ours))\n \(describe(theirs))")
    }

    // Every message both completed: same end, same body length, same keep-alive decision.
    let common = min(ours.messages.count, theirMessages.count)
    for k in 0..<common {
        let a = ours.messages[k]
        let b = theirMessages[k]
        if theirs.upgrade != 0 && k == theirMessages.count - 1 { return 0 }  // D22
        // D3: an HTTP/0.9 request has no header section (RFC 1945 §4.1); llhttp reads one. Both
        // close the connection after it, so where it ends decides nothing.
        if a.version == .http09 && !a.isKeepAlive && b.keep_alive == 0 { continue }
        if a.isKeepAlive && b.keep_alive == 0 && a.hasConnectionTrailer { return 0 }  // D16: llhttp stops here
        if a.end != b.end { fail("request \(k) ends at \(a.end) for us, \(b.end) for llhttp") }
        if a.body != b.body { fail("request \(k) body \(a.body) bytes for us, \(b.body) for llhttp") }
        // CONNECT: llhttp reports the tunnel as an upgrade, we as the end of HTTP; both stop.
        if !a.isConnect && a.isKeepAlive != (b.keep_alive != 0) && !a.hasConnectionTrailer {
            fail("request \(k): keep-alive \(a.isKeepAlive) for us, \(b.keep_alive) for llhttp")
        }
    }
    let start = common > 0 ? ours.messages[common - 1].end : 0
    // llhttp stops at an upgrade (Upgrade with Connection: upgrade, or CONNECT): what follows is
    // not HTTP to it. We answer such a request as any other and read on; nothing to compare after.
    if theirs.upgrade != 0 && ours.messages.count + 1 >= theirMessages.count { return 0 }  // D22
    // Both stopped after a request that ends the connection.
    if ours.messages.count == theirMessages.count && theirs.closed != 0 && ours.error == nil { return 0 }

    if ours.messages.count > theirMessages.count {
        // We completed a request llhttp did not.
        if ours.messages[common].version == .http09 { return 0 }  // D3
        if theirs.error != 0 {
            if explainTheirRejection(theirs, ours.messages[common], bytes, from: start) != nil { return 0 }
            fail("request \(common): we accept it, llhttp rejects it")
        }
        if theirs.closed != 0 || theirs.upgrade != 0 { return 0 }
        fail("request \(common): we complete it, llhttp waits for more")
    } else if theirMessages.count > ours.messages.count {
        if let error = ours.error {
            if explainOurRejection(error, bytes, from: start) != nil { return 0 }
            fail("request \(common): we reject it, llhttp accepts it")
        }
        fail("request \(common): llhttp completes it, we wait for more")
    } else {
        // Same number of complete requests: the rest must be rejected by both or by neither.
        let weReject = ours.error != nil
        let theyReject = theirs.error != 0
        if weReject && !theyReject {
            if explainOurRejection(ours.error!, bytes, from: start) != nil { return 0 }
            fail("after request \(common): we reject, llhttp waits for more")
        }
        if theyReject && !weReject {
            if explainTheirRejection(theirs, nil, bytes, from: start) != nil { return 0 }
            if ours.isIncomplete && weRejectOnceTheLineEnds(bytes) { return 0 }  // D12
            fail("after request \(common): llhttp rejects, we wait for more")
        }
    }
    return 0
}

@_cdecl("FuzzDifferential_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzDifferential)
}
