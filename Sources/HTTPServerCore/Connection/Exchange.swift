import HTTPServerHTTP1

/// What happens to a request's body.
enum BodyMode {
    /// Received whole into `rfile` before the handler runs (bounded by `maxBodySize`).
    case buffered
    /// Handed to the handler piece by piece as it arrives (`rfile.onData`), with backpressure.
    case streaming
    /// Not read: the handler refused it in `handleExpect100()`, or (streamed) it turned out malformed.
    case refused
}

/// The state of one request/response exchange on a connection: the parser, the queued output, a
/// partial request's bytes. Kept apart from `HTTPConnection` and pooled by the loop, so that an idle
/// keep-alive connection holds none of it — only a busy connection has an exchange.
final class Exchange {
    @exclusivity(unchecked) var parser: RequestParser
    /// The parser has seen bytes since its last reset.
    @exclusivity(unchecked) var isParserUsed = false
    @exclusivity(unchecked) var output = OutputQueue()
    @exclusivity(unchecked) var pending: [UInt8] = []
    @exclusivity(unchecked) var headBytes: UnsafeRawBufferPointer?
    @exclusivity(unchecked) var savedHead: [UInt8] = []
    @exclusivity(unchecked) var isHeadSaved = false
    @exclusivity(unchecked) var headLength = 0
    @exclusivity(unchecked) var bodyMode = BodyMode.buffered
    @exclusivity(unchecked) var isBodyComplete = false
    @exclusivity(unchecked) var drainWaiters: [() -> Void] = []
    @exclusivity(unchecked) var response = ResponseFraming()
    /// `BaseHTTPRequestHandler.whenClientCloses`: called if the client's input ends while a
    /// deferred response is open.
    @exclusivity(unchecked) var clientCloseWatcher: (() -> Void)?

    // The handler's view of the request (`BaseHTTPRequestHandler`'s attributes), built on demand.
    @exclusivity(unchecked) var requestline: String?
    @exclusivity(unchecked) var command: String?
    @exclusivity(unchecked) var path: String?
    @exclusivity(unchecked) var requestVersion: String?
    @exclusivity(unchecked) var headers: HTTPHeaders?
    @exclusivity(unchecked) var trailers: HTTPHeaders?

    // `rfile`: the buffered body, or the streamed body's callbacks and state.
    @exclusivity(unchecked) var body: [UInt8] = []
    @exclusivity(unchecked) var bodyPosition = 0
    /// Body bytes handed to a streaming handler so far.
    @exclusivity(unchecked) var streamedBodyBytes = 0
    @exclusivity(unchecked) var isStreamComplete = false
    @exclusivity(unchecked) var isStreamPaused = false
    @exclusivity(unchecked) var isStreamEndReported = false
    @exclusivity(unchecked) var dataHandler: ((UnsafeRawBufferPointer) -> Void)?
    @exclusivity(unchecked) var endHandler: ((Bool) -> Void)?

    init(limits: ParserLimits) {
        parser = RequestParser(limits: limits)
    }

    /// Nothing of a request is held: the exchange can go back to the pool.
    var isIdle: Bool {
        output.isEmpty && pending.isEmpty && !parser.isMidMessage && drainWaiters.isEmpty && !isHeadSaved
            && dataHandler == nil && endHandler == nil
    }

    /// Ready for another connection.
    func reset(pool: BufferPool) {
        if isParserUsed {
            parser.reset()
            isParserUsed = false
        }
        if !output.isEmpty { output.discard(pool: pool) }
        if pending.capacity > 0 { pool.give(&pending) }
        if savedHead.capacity > 0 { pool.give(&savedHead) }
        headBytes = nil
        isHeadSaved = false
        bodyMode = .buffered
        isBodyComplete = false
        if !drainWaiters.isEmpty { drainWaiters.removeAll() }
        response = ResponseFraming()
        resetRequest(pool: pool)
    }

    /// Forgets the handler's view of the previous request (keeps the parser and output).
    func resetRequest(pool: BufferPool) {
        if requestline != nil { requestline = nil }
        if command != nil { command = nil }
        if path != nil { path = nil }
        if requestVersion != nil { requestVersion = nil }
        if headers != nil { headers = nil }
        if trailers != nil { trailers = nil }
        if body.capacity > 0 { pool.give(&body) }
        bodyPosition = 0
        streamedBodyBytes = 0
        isStreamComplete = false
        isStreamPaused = false
        isStreamEndReported = false
        if dataHandler != nil { dataHandler = nil }
        if endHandler != nil { endHandler = nil }
        if clientCloseWatcher != nil { clientCloseWatcher = nil }
    }

    /// Streaming: hands body bytes to the handler (kept until it sets `onData`).
    func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let dataHandler {
            dataHandler(bytes)
        } else {
            body.append(contentsOf: bytes)
        }
    }

    /// Streaming: the body ended, whole or not; tells the handler once.
    func streamEnded(complete: Bool) {
        guard bodyMode == .streaming, !isStreamEndReported else { return }
        isStreamEndReported = true
        isStreamComplete = complete
        let handler = endHandler
        endHandler = nil
        handler?(complete)
    }
}
