import HTTP1

/// What happens to a request's body.
enum BodyMode {
    /// Received whole into `rfile` before the handler runs (bounded by `maxBodySize`).
    case buffered
    /// Handed to the handler piece by piece as it arrives (`rfile.onData`), with backpressure.
    case streaming
    /// Not read: the handler refused it in `handleExpect100()`.
    case refused
}

/// The state of one request/response exchange on a connection: the parser, the queued output, a
/// partial request's bytes. Kept apart from `HTTPConnection` and pooled by the loop, so that an idle
/// keep-alive connection holds none of it — only a busy connection has an exchange.
final class Exchange {
    @exclusivity(unchecked) var parser: RequestParser
    @exclusivity(unchecked) var output = OutputQueue()
    @exclusivity(unchecked) var pending: [UInt8] = []
    @exclusivity(unchecked) var headBytes: UnsafeRawBufferPointer?
    @exclusivity(unchecked) var savedHead: [UInt8] = []
    @exclusivity(unchecked) var isHeadSaved = false
    @exclusivity(unchecked) var headLength = 0
    @exclusivity(unchecked) var bodyMode = BodyMode.buffered
    @exclusivity(unchecked) var isBodyComplete = false
    @exclusivity(unchecked) var drainWaiters: [() -> Void] = []
    @exclusivity(unchecked) var response = ResponseState()
    /// `BaseHTTPRequestHandler.whenClientCloses`: called if the client's input ends while a
    /// deferred response is open.
    @exclusivity(unchecked) var clientCloseWatcher: (() -> Void)?

    init(limits: ParserLimits) {
        parser = RequestParser(limits: limits)
    }

    /// Nothing of a request is held: the exchange can go back to the pool.
    var isIdle: Bool {
        output.isEmpty && pending.isEmpty && !parser.isMidMessage && drainWaiters.isEmpty && !isHeadSaved
    }

    /// Ready for another connection.
    func reset(pool: BufferPool) {
        parser.reset()
        if !output.isEmpty { output.discard(pool: pool) }
        if pending.capacity > 0 { pool.give(&pending) }
        if savedHead.capacity > 0 { pool.give(&savedHead) }
        headBytes = nil
        isHeadSaved = false
        bodyMode = .buffered
        isBodyComplete = false
        if !drainWaiters.isEmpty { drainWaiters.removeAll() }
        response = ResponseState()
        clientCloseWatcher = nil
    }
}
