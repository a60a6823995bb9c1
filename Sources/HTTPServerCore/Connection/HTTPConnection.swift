import HTTPServerHTTP1
import HTTPServerReactor

/// One client connection: the HTTP/1 state machine between a transport and a handler.
///
/// Bytes come in through `bytesReceived(_:)`; the request parser turns them into a head and a body;
/// the handler is dispatched when the whole request has arrived; its response is queued and
/// written with as few system calls as possible; then the next (possibly pipelined) request, or a
/// close. It never calls the OS itself: the transport (an epoll socket, or a fake one in tests)
/// does the I/O, and time comes from the context's clock.
final class HTTPConnection: TransportDelegate {
    enum State: Equatable {
        /// Between requests, or before the first: nothing of a request has arrived. Idle timeout.
        case awaitingRequest
        /// Part of a request head has arrived. Head timeout, counted from its first byte.
        case readingHead
        /// The head is done; the body is arriving. Body timeout, counted from the last read.
        case readingBody
        /// The handler is running.
        case dispatching
        /// The handler has returned, but its response is still being produced (it called
        /// `deferResponse()`) or its streamed request body is still arriving.
        case responding
        /// The last response is queued; once it is written, the write side shuts and we linger.
        case closingAfterOutput
        /// Write side shut; input is read and discarded until the peer closes or the linger timeout.
        case lingering
        case closed
    }

    @exclusivity(unchecked) private(set) var state: State = .awaitingRequest
    let transport: Transport
    let context: ConnectionContext
    /// The client's address, until the handler (which keeps it as `clientAddress`) is created.
    @exclusivity(unchecked) private var peerBox: PeerBox?
    @exclusivity(unchecked) private(set) var handler: BaseHTTPRequestHandler?
    /// The connection stopped reading because too much output is queued.
    @exclusivity(unchecked) private var isPausedForOutput = false
    @exclusivity(unchecked) private var isReadingPaused = false
    @exclusivity(unchecked) private var peerClosedInput = false
    /// The context's pool, held without reference counting (the context outlives every connection).
    private unowned(unsafe) let pool: BufferPool
    /// This connection's place in the context's `TimeoutQueue` (managed by the queue).
    static let noTimeout: UInt8 = .max
    @exclusivity(unchecked) var timeoutKind: UInt8 = HTTPConnection.noTimeout
    @exclusivity(unchecked) var timeoutDeadline: Int64 = .max
    @exclusivity(unchecked) unowned(unsafe) var timeoutPrevious: HTTPConnection?
    @exclusivity(unchecked) unowned(unsafe) var timeoutNext: HTTPConnection?
    @exclusivity(unchecked) private(set) var requestCount = 0
    /// The server decided this connection ends after the current response (shutdown, request
    /// limit): the response says `Connection: close`.
    @exclusivity(unchecked) private(set) var isCloseForced = false
    /// The handler called `deferResponse()` and has not yet called `finishResponse()`.
    @exclusivity(unchecked) private(set) var isResponseDeferred = false

    init(transport: Transport, context: ConnectionContext, peer: SocketAddress?) {
        self.transport = transport
        self.context = context
        self.pool = context.pool
        self.peerBox = peer.map(PeerBox.init)
        context.timeouts.schedule(self, .idle)
    }

    // MARK: Per-request state

    /// What the connection needs only while a request is in progress; taken from the loop's pool
    /// when bytes arrive and given back when the connection is idle again.
    @exclusivity(unchecked) private var exchangeStorage: Exchange?

    /// Borrowed, not retained: this is read several times per request.
    private var exchange: Exchange {
        _read {
            if exchangeStorage == nil { exchangeStorage = pool.takeExchange(limits: context.parserLimits) }
            yield exchangeStorage.unsafelyUnwrapped
        }
    }

    var parser: RequestParser {
        _read { yield exchange.parser }
        _modify { yield &exchange.parser }
    }
    private var output: OutputQueue {
        _read { yield exchange.output }
        _modify { yield &exchange.output }
    }
    private var pending: [UInt8] {
        _read { yield exchange.pending }
        _modify { yield &exchange.pending }
    }
    /// The bytes `parser.head`'s ranges point into, while a request is being handled.
    private(set) var headBytes: UnsafeRawBufferPointer? {
        get { exchange.headBytes }
        set { exchange.headBytes = newValue }
    }
    /// A copy of the head, made only when its body spans several reads.
    private var savedHead: [UInt8] {
        _read { yield exchange.savedHead }
        _modify { yield &exchange.savedHead }
    }
    private var isHeadSaved: Bool {
        get { exchange.isHeadSaved }
        set { exchange.isHeadSaved = newValue }
    }
    private var headLength: Int {
        get { exchange.headLength }
        set { exchange.headLength = newValue }
    }
    private var bodyMode: BodyMode {
        get { exchange.bodyMode }
        set { exchange.bodyMode = newValue }
    }
    private var isBodyComplete: Bool {
        get { exchange.isBodyComplete }
        set { exchange.isBodyComplete = newValue }
    }
    /// Called once when all queued output has been written (`wfile.whenDrained`).
    private var drainWaiters: [() -> Void] {
        _read { yield exchange.drainWaiters }
        _modify { yield &exchange.drainWaiters }
    }
    var response: ResponseFraming {
        _read { yield exchange.response }
        _modify { yield &exchange.response }
    }

    /// The exchange in progress, if any (never creates one).
    var currentExchange: Exchange? { exchangeStorage }

    /// True while part of a request has been received and not yet handled.
    private var isMidMessage: Bool { exchangeStorage?.parser.isMidMessage ?? false }

    /// Gives the per-request state back to the pool when nothing of a request is pending.
    private func releaseExchangeIfIdle() {
        guard let exchange = exchangeStorage, state == .awaitingRequest, !isPausedForOutput,
              exchange.isIdle else { return }
        exchangeStorage = nil
        pool.give(exchange)
    }

    // MARK: Transport events

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        context.metrics?.bytesIn += bytes.count
        switch state {
        case .lingering:
            return
        case .closed, .closingAfterOutput:
            return
        case .awaitingRequest, .readingHead, .readingBody, .dispatching, .responding:
            break
        }
        if pending.isEmpty {
            let used = process(bytes)
            if used < bytes.count && acceptsInput {
                if pending.capacity == 0 { pending = pool.take() }
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[used...]))
            }
        } else {
            pending.append(contentsOf: bytes)
            processPending()
            releaseExchangeIfIdle()
            return
        }
        flushOutput()
        releaseExchangeIfIdle()
    }

    func endOfInput() {
        peerClosedInput = true
        switch state {
        case .closed:
            return
        case .lingering:
            close()
        case .awaitingRequest, .readingHead, .readingBody:
            // Requests held back by backpressure are still answered; the end is handled after them.
            if isPausedForOutput && !pending.isEmpty { return }
            finishInput()
        case .responding:
            if bodyMode == .streaming && !isBodyComplete {
                // The streamed body will never be complete.
                handler?.closeConnection = true
                exchangeStorage?.streamEnded(complete: false)
            }
            if let watcher = exchangeStorage?.clientCloseWatcher {
                exchangeStorage?.clientCloseWatcher = nil
                watcher()
            }
        case .dispatching, .closingAfterOutput:
            // The response in flight is still delivered (a half-close is not a reset).
            break
        }
    }

    /// No more bytes will come and every byte received has been parsed.
    private func finishInput() {
        if state == .readingHead || state == .readingBody || isMidMessage {
            // RFC 9112 §8: an incomplete message is an error; answer it while we still can.
            failRequest(ParseError(.badRequestLine, status: 400), detail: .incomplete)
        } else if output.isEmpty {
            close()
            return
        } else {
            state = .closingAfterOutput
        }
        flushOutput()
    }

    func transportWritable() {
        flushOutput()
        releaseExchangeIfIdle()
    }

    func transportFailed(_ error: SystemError) {
        close()
    }

    private var acceptsInput: Bool {
        switch state {
        case .awaitingRequest, .readingHead, .readingBody, .dispatching, .responding: return true
        case .closingAfterOutput, .lingering, .closed: return false
        }
    }

    // MARK: Parsing

    /// Parses and handles as many requests as `buffer` holds. Returns how many bytes were consumed;
    /// the caller keeps the rest for the next read.
    private func process(_ buffer: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        defer {
            // The head's ranges point into `buffer`; keep a copy if the request outlives it.
            if (state == .readingBody || state == .responding) && !isHeadSaved { saveHead() }
        }
        while true {
            switch state {
            case .awaitingRequest, .readingHead, .readingBody:
                break
            case .responding:
                // Only a streamed body is read while the handler works, and only while it wants more.
                guard bodyMode == .streaming, !isBodyComplete, exchangeStorage?.isStreamPaused == false else {
                    // Hold further input in the socket, not in memory, until the handler is ready;
                    // but a handler watching for the client's close keeps reading while none comes.
                    if offset < buffer.count || exchangeStorage?.clientCloseWatcher == nil { pauseReadingForHandler() }
                    return offset
                }
            case .closingAfterOutput, .lingering, .closed:
                if offset < buffer.count { leftInputUnread = true }
                return buffer.count
            case .dispatching:
                return offset
            }
            // More requests waiting behind a large response: parse no further until it drains.
            // (With nothing left to parse, flushOutput decides, after it has tried to write.)
            if offset < buffer.count && output.count > context.configuration.outputHighWatermark {
                pauseForOutput()
                return offset
            }
            if offset == buffer.count && state == .awaitingRequest {
                return offset  // everything read has been handled
            }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            let step: ParseStep
            exchange.isParserUsed = true
            do {
                step = try parser.parse(slice)
            } catch {
                if state == .responding {
                    // The streamed body turned out malformed after the handler started answering.
                    // The parser is spent: nothing more of this connection's input is parsed.
                    exchangeStorage?.streamEnded(complete: false)
                    bodyMode = .refused
                    handler?.closeConnection = true
                    return buffer.count
                }
                headBytes = slice
                failRequest(error, detail: .parser(slice))
                return buffer.count
            }
            switch step {
            case .needMore(let consumed):
                offset += consumed
                if state == .awaitingRequest && parser.isMidMessage {
                    state = .readingHead
                    context.timeouts.schedule(self, .head)
                } else if state == .readingBody || state == .responding {
                    context.timeouts.schedule(self, .body)
                }
                return offset
            case .head(let consumed):
                headBytes = slice
                headLength = consumed
                isHeadSaved = false
                offset += consumed
                headReceived()
            case .body(let range):
                offset += range.upperBound
                bodyReceived(UnsafeRawBufferPointer(rebasing: slice[range]))
            case .end(let consumed):
                if !parser.trailers.isEmpty { collectTrailers(slice) }
                offset += consumed
                isBodyComplete = true
                if state == .responding {
                    exchangeStorage?.streamEnded(complete: true)
                    // The handler may have finished its response from `onEnd`: the request is then
                    // finished already (and the connection may have moved on, or closed).
                    if state == .responding && !isResponseDeferred { requestFinished() }
                    continue
                }
                if !isHeadSaved { headBytes = headBytes ?? slice }
                dispatch()
            }
        }
    }

    private func bodyReceived(_ bytes: UnsafeRawBufferPointer) {
        switch bodyMode {
        case .buffered:
            ensureHandler()
            if let limit = context.bufferedBodyLimit, exchange.body.count + bytes.count > limit {
                failRequest(ParseError(.bodyTooLarge, status: 413), detail: .refusedAfterHead)
                return
            }
            if exchange.body.capacity == 0 { exchange.body = pool.take() }
            exchange.body.append(contentsOf: bytes)
        case .streaming:
            exchange.streamedBodyBytes += bytes.count
            exchange.deliver(bytes)
        case .refused:
            break
        }
    }

    /// Trailers are rare: they are turned into strings at once, while their bytes are at hand.
    private func collectTrailers(_ slice: UnsafeRawBufferPointer) {
        var trailers = HTTPHeaders()
        for field in parser.trailers {
            trailers.add(PythonText.latin1(UnsafeRawBufferPointer(rebasing: slice[field.name])),
                         PythonText.latin1(UnsafeRawBufferPointer(rebasing: slice[field.value])))
        }
        exchange.trailers = trailers
    }

    private func processPending() {
        guard !pending.isEmpty else { flushOutput(); return }
        var buffer: [UInt8] = []
        swap(&buffer, &pending)
        let used = buffer.withUnsafeBytes { process($0) }
        if used < buffer.count && acceptsInput {
            buffer.removeSubrange(0..<used)
            swap(&buffer, &pending)
        } else {
            pool.give(&buffer)
        }
        if peerClosedInput && acceptsInput && pending.isEmpty {
            finishInput()
            return
        }
        flushOutput()
    }

    /// Copies the head so that its ranges stay valid after the read buffer is reused.
    private func saveHead() {
        guard let head = headBytes else { return }
        let length = headLength
        if savedHead.capacity == 0 { savedHead = pool.take() }
        savedHead.removeAll(keepingCapacity: true)
        savedHead.append(contentsOf: UnsafeRawBufferPointer(rebasing: head[0..<min(length, head.count)]))
        isHeadSaved = true
        headBytes = nil
    }

    /// The bytes the current head's ranges refer to.
    func withHeadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if isHeadSaved {
            return savedHead.withUnsafeBytes(body)
        }
        return body(headBytes ?? UnsafeRawBufferPointer(start: nil, count: 0))
    }

    private func headReceived() {
        requestCount += 1
        bodyMode = .buffered
        isBodyComplete = false
        let handler = ensureHandler()
        let method = withHeadBytes { KnownMethod(UnsafeRawBufferPointer(rebasing: $0[parser.head.method])) }
        handler.beginRequest(method: method)
        if let limit = context.configuration.maxRequestsPerConnection, requestCount >= limit {
            isCloseForced = true
        }
        if isCloseForced { handler.closeConnection = true }
        let head = parser.head
        state = .readingBody
        if head.framing == .none {
            return  // the parser reports `.end` next
        }
        context.timeouts.schedule(self, .body)
        let streams = handler.wantsStreamingBody()
        if !streams, let limit = context.bufferedBodyLimit, case .contentLength(let length) = head.framing, length > limit {
            failRequest(ParseError(.bodyTooLarge, status: 413), detail: .refusedAfterHead)
            return
        }
        if head.expectsContinue && head.version >= .http11 && handler.isProtocolHTTP11 {
            let proceed = handler.handleExpect100()
            if !proceed {
                // The handler refused the body (417 or similar): it is not read, and the connection
                // closes after the response, so the unread body can never be taken for a request.
                bodyMode = .refused
                if !response.hasFinalStatus { handler.sendError(417) }
                handler.closeConnection = true
                checkResponse(handler)
                state = .closingAfterOutput
                cancelRequest()
                flushOutput()
                return
            }
            flushOutput()
        }
        if streams {
            bodyMode = .streaming
            dispatch()
        }
    }

    // MARK: Dispatch

    @discardableResult
    func ensureHandler() -> BaseHTTPRequestHandler {
        if let handler { return handler }
        let handler = context.makeHandler()
        handler.attach(to: self, peer: peerBox?.address)
        peerBox = nil
        self.handler = handler
        handler.setup()
        handler.handle()
        return handler
    }

    private func dispatch() {
        state = .dispatching
        let handler = ensureHandler()
        do {
            try handler.handleOneRequest()
        } catch {
            isResponseDeferred = false
            handlerThrew(error, handler)
        }
        guard state == .dispatching else { return }  // closed meanwhile
        if isResponseDeferred {
            // The handler answers later; pipelined requests wait (unread) until it has.
            state = .responding
            if (bodyMode != .streaming || isBodyComplete) && exchange.clientCloseWatcher == nil { pauseReadingForHandler() }
            return
        }
        checkResponse(handler)
        if bodyMode == .streaming && !isBodyComplete {
            // Answered before the body arrived: the rest of the body is not worth reading.
            handler.closeConnection = true
            exchangeStorage?.streamEnded(complete: false)
        }
        requestFinished()
    }

    /// The handler's `finishResponse()`: its deferred response is complete.
    func deferredResponseFinished() {
        guard isResponseDeferred else { return }
        isResponseDeferred = false
        guard state == .responding, let handler else { return }  // finished inside doXXX(): handled there
        checkResponse(handler)
        if bodyMode == .streaming && !isBodyComplete {
            handler.closeConnection = true
            exchangeStorage?.streamEnded(complete: false)
        }
        requestFinished()
        if isReadingPaused && !isPausedForOutput { resumeReading() }
        processPending()
    }

    func responseDeferred() {
        isResponseDeferred = true
    }

    /// `BaseHTTPRequestHandler.whenClientCloses`.
    func watchClientClose(_ watcher: @escaping () -> Void) {
        guard state != .closed else { return }
        exchange.clientCloseWatcher = watcher
    }

    /// A streaming handler that paused `rfile` wants more now.
    func streamResumed() {
        guard state == .responding else { return }
        if isReadingPaused && !isPausedForOutput { resumeReading() }
        if pending.isEmpty {
            // The parser still gets a turn with no new bytes: when the pause came with the body's
            // last bytes, only the parser can say the body has ended (`.end`).
            _ = process(UnsafeRawBufferPointer(start: nil, count: 0))
            flushOutput()
        } else {
            processPending()
        }
    }

    private func pauseReadingForHandler() {
        if !isReadingPaused {
            isReadingPaused = true
            transport.pauseReading()
        }
    }

    private func handlerThrew(_ error: any Error, _ handler: BaseHTTPRequestHandler) {
        context.handleError(error, handler.clientSocketAddress)
        if !response.hasFinalStatus && !response.wroteRawBytes {
            if let mark = response.headMark {
                output.rollBack(to: mark, pool: pool)
            }
            response = ResponseFraming()
            handler.sendError(500)
        }
        handler.closeConnection = true
    }

    /// Checks that the response the handler wrote frames itself; when it does not, the connection
    /// closes after it so that the client is never left waiting and never misreads the next response.
    private func checkResponse(_ handler: BaseHTTPRequestHandler) {
        if let mark = response.headMark {
            // A head that was started and never ended: nothing of it has been written.
            output.rollBack(to: mark, pool: pool)
            response.headMark = nil
            handler.logError("response head not ended by endHeaders(); sending 500")
            response = ResponseFraming()
            handler.sendError(500)
            handler.closeConnection = true
        }
        if handler.isHTTP09 {
            handler.closeConnection = true
        } else if !response.hasFinalStatus {
            if !response.wroteRawBytes {
                handler.logError("handler sent no response; closing the connection")
            }
            handler.closeConnection = true
        } else if let declared = response.declaredLength, response.isBodyAllowed, response.bodyWritten != declared {
            handler.logError("response body was \(response.bodyWritten) bytes, Content-Length said \(declared); closing the connection")
            handler.closeConnection = true
        }
    }

    private func requestFinished() {
        guard let handler else { return }
        context.responseCompleted(handler, status: response.finalStatus, bodyBytes: response.bodyWritten)
        handler.endRequest()
        context.onRequestFinished?()
        response = ResponseFraming()
        exchange.resetRequest(pool: pool)
        if isHeadSaved { pool.give(&savedHead); isHeadSaved = false }
        headBytes = nil
        if handler.closeConnection {
            let version = parser.head.version
            clientAskedToClose = parser.head.connectionClose || version == .http09
                || (version == .http10 && !parser.head.connectionKeepAlive)
            state = .closingAfterOutput
            cancelRequest()
        } else {
            parser.reset()
            exchange.isParserUsed = false
            state = .awaitingRequest
            context.timeouts.schedule(self, .idle)
        }
    }

    /// Forgets the request in progress (no more input will be parsed on this connection).
    private func cancelRequest() {
        headBytes = nil
        if !pending.isEmpty {
            leftInputUnread = true
            pool.give(&pending)
        }
    }

    /// The connection closes after this response because the client asked for it.
    @exclusivity(unchecked) private var clientAskedToClose = false
    /// Bytes of the client's were dropped unread (a pipelined request, a refused body...).
    @exclusivity(unchecked) private var leftInputUnread = false

    /// While reading was paused, the client closed its side. If the body being streamed can no
    /// longer arrive whole (fewer bytes are on their way than it still lacks), the client is gone:
    /// the stream ends incomplete now, and a handler watching for the client's close (a CGI script
    /// with nobody left to answer) hears it now rather than never.
    func peerHalfClosed(unreadBytes: Int) {
        guard state == .responding, let exchange = exchangeStorage else { return }
        if exchange.bodyMode == .streaming && !exchange.isBodyComplete {
            // Chunked: how much is missing is unknown; the bytes and the end come on resuming.
            guard case .contentLength(let total) = exchange.parser.head.framing,
                  exchange.streamedBodyBytes + exchange.pending.count + unreadBytes < total else { return }
            handler?.closeConnection = true
            exchange.streamEnded(complete: false)
        }
        if let watcher = exchangeStorage?.clientCloseWatcher {
            exchangeStorage?.clientCloseWatcher = nil
            watcher()
        }
    }

    enum FailureDetail {
        /// The head parsed; the request is refused (its fields stay available to the handler).
        case refusedAfterHead
        case parser(UnsafeRawBufferPointer)
        case incomplete
        case timeout
    }

    /// Answers a request that cannot be served (bad syntax, a limit, a timeout) and closes after it.
    func failRequest(_ error: ParseError, detail: FailureDetail) {
        let handler = ensureHandler()
        if response.headMark != nil || response.hasFinalStatus {
            // Too late for a clean answer.
            state = .closingAfterOutput
            return
        }
        context.metrics?.requestRejected(error)
        handler.prepareForError(error, detail: detail)
        let (message, explain) = ErrorMessages.describe(error, requestLine: handler.requestline, detail: detail)
        handler.sendError(HTTPStatus(error.status), message: message, explain: explain)
        context.responseCompleted(handler, status: response.finalStatus, bodyBytes: response.bodyWritten)
        handler.closeConnection = true
        headBytes = nil
        state = .closingAfterOutput
        leftInputUnread = true  // the rest of a refused request may still be on its way
        cancelRequest()
        context.onRequestFinished?()
    }

    // MARK: Output

    var outputCount: Int { exchangeStorage?.output.count ?? 0 }

    func writeHead(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes, pool: pool)
    }

    func writeHeaderLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        output.appendHeaderLine(name, value, pool: pool)
    }

    func markHead() -> OutputQueue.Mark { output.mark() }

    func writeBody(_ bytes: [UInt8]) {
        guard response.admitBody(bytes.count) else { return }
        let allowed = response.clampBody(bytes.count)
        if allowed == bytes.count {
            output.append(bytes, pool: pool)
        } else {
            bytes.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[0..<allowed]), pool: pool) }
        }
        if state == .responding { flushOutput() }
    }

    func writeBody(_ bytes: UnsafeRawBufferPointer) {
        guard response.admitBody(bytes.count) else { return }
        let allowed = response.clampBody(bytes.count)
        output.append(UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]), pool: pool)
        if state == .responding { flushOutput() }
    }

    func writeBody(file: FileRegion) {
        guard response.admitBody(file.range.count) else { return }
        let allowed = response.clampBody(file.range.count)
        file.range = file.range.lowerBound..<(file.range.lowerBound + allowed)
        output.append(file: file)
        if state == .responding { flushOutput() }
    }

    /// Writes what is queued. Called once per read wake-up (after all pipelined requests of the read
    /// were handled), when a handler flushes, and when the socket becomes writable again.
    func flushOutput() {
        guard state != .closed else { return }
        if let exchange = exchangeStorage, !exchange.output.isEmpty {
            let done: Bool
            if state == .closingAfterOutput && closesWithoutLingering {
                // The connection closes once this is out: the FIN can leave with the last bytes.
                transport.outputEndsStream()
            }
            do {
                done = try output.flush(to: transport, pool: pool)
            } catch {
                close()
                return
            }
            if !done {
                transport.awaitWritable()
                context.timeouts.schedule(self, .send)
                if output.count > context.configuration.outputHighWatermark { pauseForOutput() }
                return
            }
        }
        // Everything is written.
        if let exchange = exchangeStorage, !exchange.drainWaiters.isEmpty {
            let waiters = drainWaiters
            drainWaiters.removeAll()
            for waiter in waiters { waiter() }
            guard output.isEmpty, state != .closed else { return }
        }
        switch state {
        case .closingAfterOutput:
            startLingering()
        case .awaitingRequest, .readingHead, .readingBody:
            if isPausedForOutput {
                isPausedForOutput = false
                resumeReading()
                if !pending.isEmpty { processPending() }
            }
            if state == .awaitingRequest && peerClosedInput && pending.isEmpty {
                finishInput()
            } else if timeoutKind == TimeoutQueue.Kind.send.rawValue {
                // The send timeout was watching a blocked write; the state's own timeout resumes.
                switch state {
                case .awaitingRequest: context.timeouts.schedule(self, isMidMessage ? .head : .idle)
                case .readingHead: context.timeouts.schedule(self, .head)
                case .readingBody: context.timeouts.schedule(self, .body)
                default: break
                }
            }
        case .dispatching, .responding, .lingering, .closed:
            break
        }
    }

    /// Calls `waiter` once all queued output has been written (at once if nothing is queued).
    func whenDrained(_ waiter: @escaping () -> Void) {
        guard state != .closed else { return }
        if output.isEmpty {
            waiter()
        } else {
            drainWaiters.append(waiter)
        }
    }

    private func pauseForOutput() {
        isPausedForOutput = true
        if !isReadingPaused {
            isReadingPaused = true
            transport.pauseReading()
        }
    }

    private func resumeReading() {
        if isReadingPaused {
            isReadingPaused = false
            transport.resumeReading()
        }
    }

    /// After its last response the connection closes at once, without lingering: a client that said
    /// it closes, and sent nothing we left unread, will not send more (nginx decides the same way);
    /// nor will one that has already closed its side.
    private var closesWithoutLingering: Bool {
        peerClosedInput || (clientAskedToClose && !leftInputUnread)
    }

    /// RFC 9112 §9.6: closing at once while the client may still be sending would reset the
    /// connection and can destroy the response in flight; shut the write side first, then read and
    /// discard until the client closes (or a short timeout).
    private func startLingering() {
        if closesWithoutLingering {
            close()
            return
        }
        state = .lingering
        transport.shutdownWrite()
        resumeReading()
        context.timeouts.schedule(self, .linger)
    }

    // MARK: Time

    /// Called by the `TimeoutQueue` when this connection's deadline has passed.
    func timedOut(_ kind: TimeoutQueue.Kind) {
        context.metrics?.timedOut(String(describing: kind))
        switch kind {
        case .send, .linger:
            // The client stopped reading what we send, or did not close after our last response.
            close()
        case .idle:
            if state == .awaitingRequest && !isMidMessage { close() }
        case .head, .body:
            switch state {
            case .awaitingRequest, .readingHead, .readingBody:
                failRequest(ParseError(.badRequestLine, status: 408), detail: .timeout)
                flushOutput()
            case .responding:
                // A streamed body that stopped arriving; a deferred response has no timeout of ours.
                if bodyMode == .streaming && !isBodyComplete && exchangeStorage?.isStreamPaused == false {
                    exchangeStorage?.streamEnded(complete: false)
                    close()
                }
            case .dispatching, .closingAfterOutput, .lingering, .closed:
                break
            }
        }
    }

    // MARK: Close

    /// Closes at once: queued output is dropped, files close, buffers go back to the pool.
    func close() {
        guard state != .closed else { return }
        state = .closed
        context.timeouts.remove(self)
        if let exchange = exchangeStorage, exchange.bodyMode == .streaming, !exchange.isBodyComplete {
            exchange.streamEnded(complete: false)
        }
        if let exchange = exchangeStorage {
            exchangeStorage = nil
            pool.give(exchange)  // queued output is dropped, files close
        }
        transport.close()
        if let handler {
            handler.finish()
            handler.detach()
        }
        context.onConnectionClosed?(self)
    }

    /// Begins a graceful close: an idle connection closes now; a busy one after its response.
    func closeWhenIdle() {
        isCloseForced = true
        switch state {
        case .awaitingRequest where !isMidMessage && (exchangeStorage?.pending.isEmpty ?? true):
            // Idle: shut the write side and linger, so that a request already on its way is read
            // and dropped rather than answered with a reset.
            state = .closingAfterOutput
            flushOutput()
        case .awaitingRequest, .readingHead, .readingBody, .dispatching, .responding:
            handler?.closeConnection = true
        case .closingAfterOutput, .lingering, .closed:
            break
        }
    }
}
