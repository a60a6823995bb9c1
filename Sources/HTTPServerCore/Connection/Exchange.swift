import HTTPServerHTTP1

/// The state of one request/response exchange on a connection: the parser, the queued output, a
/// partial request's bytes. Kept apart from `HTTPConnection` and pooled by the loop, so that an idle
/// keep-alive connection holds none of it — only a busy connection has an exchange. What the
/// exchange is doing (reading a body, streaming it, waiting for the handler) is the connection's
/// `ConnectionStateMachine`'s; this holds the bytes and the handler's callbacks.
final class Exchange {
    /// Where the bytes that `parser.head`'s ranges point into are.
    enum HeadStorage {
        case none
        /// In the buffer of the read being parsed: valid until that read has been handled.
        case inReadBuffer(UnsafeRawBufferPointer)
        /// Copied into `savedHead`, because the request outlives its read (its body spans several).
        case saved
    }

    // callgrind: −1,015 instructions per keep-alive request
    @exclusivity(unchecked) var parser: RequestParser
    /// The parser has seen bytes since its last reset.
    var isParserUsed = false
    // callgrind: −1,429 instructions per keep-alive request
    @exclusivity(unchecked) var output = OutputQueue()
    // callgrind: −336 instructions per keep-alive request
    @exclusivity(unchecked) var pending: [UInt8] = []
    var head = HeadStorage.none
    var savedHead: [UInt8] = []
    var headLength = 0
    /// Called once when all queued output has been written (`wfile.whenDrained`).
    var drainWaiters: [() -> Void] = []
    // callgrind: −1,847 instructions per keep-alive request
    @exclusivity(unchecked) var response = ResponseFraming()
    /// `BaseHTTPRequestHandler.whenClientCloses`: called if the client's input ends while a
    /// deferred response is open.
    var clientCloseWatcher: (() -> Void)?
    /// An async handler's request, while its task runs (HTTPConnection+Async.swift).
    var asyncRun: AsyncRequestRun?
    /// The handler's `ResponseStream`, while its response is open (HTTPConnection+Stream.swift).
    var stream: ResponseStream?
    /// `ThreadingHTTPServer`: the streamed body of the request on a worker (`HTTPConnection.workerBody`).
    var workerBody: WorkerBodyBuffer?

    // The handler's view of the request (`BaseHTTPRequestHandler`'s attributes), built on demand.
    var requestline: String?
    var command: String?
    var path: String?
    var requestVersion: String?
    var headers: HTTPHeaders?
    var trailers: HTTPHeaders?
    /// `requestTarget`, kept only for a handler on a worker whose body the reactor still parses.
    var requestTarget: String?

    // `rfile`: the buffered body, or the streamed body's callbacks.
    // callgrind: −166 instructions per keep-alive request
    @exclusivity(unchecked) var body: [UInt8] = []
    var bodyPosition = 0
    /// Body bytes handed to a streaming handler so far.
    var streamedBodyBytes = 0
    var dataHandler: ((UnsafeRawBufferPointer) -> Void)?
    var endHandler: ((Bool) -> Void)?

    init(limits: ParserLimits) {
        parser = RequestParser(limits: limits)
    }

    /// Nothing of a request is held: the exchange can go back to the pool.
    var isIdle: Bool {
        if case .saved = head { return false }
        return output.isEmpty && pending.isEmpty && !parser.isMidMessage && drainWaiters.isEmpty
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
        if case .saved = head { pool.give(&savedHead) }  // only a saved head has a buffer
        head = .none
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
        if requestTarget != nil { requestTarget = nil }
        if body.capacity > 0 { pool.give(&body) }
        bodyPosition = 0
        streamedBodyBytes = 0
        if dataHandler != nil { dataHandler = nil }
        if endHandler != nil { endHandler = nil }
        if clientCloseWatcher != nil { clientCloseWatcher = nil }
        if asyncRun != nil { asyncRun = nil }
        if stream != nil { stream = nil }
        if workerBody != nil { workerBody = nil }
    }

    /// Streaming: hands body bytes to the handler (kept until it sets `onData`).
    func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let dataHandler {
            dataHandler(bytes)
        } else {
            body.append(contentsOf: bytes)
        }
    }

    /// Streaming: the body ended, whole or not (the state machine says so once); tells the handler.
    func reportStreamEnd(complete: Bool) {
        let handler = endHandler
        endHandler = nil
        handler?(complete)
    }
}
