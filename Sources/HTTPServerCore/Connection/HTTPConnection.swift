import HTTPServerHTTP1
import HTTPServerReactor

/// One client connection: carries out what its `ConnectionStateMachine` decides, between a
/// transport and a handler.
///
/// Bytes come in through `bytesReceived(_:)`; the request parser turns them into a head and a body;
/// each parser step and each transport or handler event is told to the machine, which changes its
/// state and answers with an action that this class performs: run the handler, queue and write
/// its response, arm a timeout, pause reading, close. It never calls the OS itself: the transport
/// (an epoll socket, or a fake one in tests) does the I/O, and time comes from the context's
/// clock. Parsing is in `HTTPConnection+Parsing.swift`, the handler's side in
/// `HTTPConnection+Handler.swift`, output in `HTTPConnection+Output.swift`, timeouts and closing
/// in `HTTPConnection+Closing.swift`.
final class HTTPConnection: TransportDelegate {
    /// The protocol state; changed only through its events.
    var machine = ConnectionStateMachine()
    let transport: Transport
    let context: ConnectionContext
    /// The client's address, until the handler (which keeps it as `clientAddress`) is created.
    var addressForHandler: SocketAddressBox?
    var handler: BaseHTTPRequestHandler?
    /// The context's pool.
    let pool: BufferPool
    /// This connection's place in the context's `TimeoutQueue` (managed by the queue).
    static let noTimeout: UInt8 = .max
    var timeoutLink = TimeoutQueue.Link()
    /// The kind of timeout watching this connection (`noTimeout`: none).
    var timeoutKind: UInt8 { timeoutLink.kind }
    /// Requests whose head has arrived on this connection (for `maxRequestsPerConnection`).
    var requestCount = 0
    /// What the connection needs only while a request is in progress; taken from the loop's pool
    /// when bytes arrive and given back when the connection is idle again.
    var exchangeStorage: Exchange?
    /// `ThreadingHTTPServer`: the request whose handler runs on a worker thread, from its
    /// dispatch until the reactor hears that it has returned (HTTPConnection+Worker.swift). Set
    /// and cleared on the reactor; while set, the worker owns the exchange and the handler.
    @exclusivity(unchecked) var workerJob: WorkerJob?
    /// This connection's place among the context's connections that keep an idle exchange until
    /// its next sweep (`ConnectionContext.park`), or -1.
    var parkIndex: Int32 = -1
    /// The streamed body of the request on a worker, while it runs (HTTPConnection+WorkerBody.swift).
    /// Set and cleared on the reactor, with `workerJob`; the buffer itself is shared, under its lock.
    /// Kept in the exchange: an idle connection holds nothing for it.
    var workerBody: WorkerBodyBuffer? {
        get { exchangeStorage?.workerBody }
        set { exchangeStorage?.workerBody = newValue }
    }

    init(transport: Transport, context: ConnectionContext, peer: SocketAddress?) {
        self.transport = transport
        self.context = context
        self.pool = context.pool
        self.addressForHandler = peer.map(SocketAddressBox.init)
        context.timeouts.schedule(self, .idle)
    }

    deinit {
        // A connection freed without `close()` (its server dropped) leaves no pointer to itself
        // behind: not in a timeout list, not in a handler that outlives it.
        context.timeouts.remove(self)
        if parkIndex >= 0 { context.unpark(self) }
        handler?.detach()
    }

    /// Where the connection is in its request/response cycle.
    var state: ConnectionStateMachine.State { machine.state }

    /// The server decided that this connection ends after its current request (shutdown, request
    /// limit): the response says `Connection: close`.
    var endsAfterCurrentRequest: Bool {
        // On a worker, the decision as it stood at dispatch: the machine is the reactor's.
        if workerJob != nil { return workerJob.unsafelyUnwrapped.endsAfterCurrentRequest }
        return machine.lifetime == .endsAfterCurrentRequest
    }

    // MARK: Per-request state

    /// Borrowed, not retained: this is read several times per request.
    var exchange: Exchange {
        _read {
            if exchangeStorage == nil { exchangeStorage = pool.takeExchange(limits: context.parserLimits) }
            yield exchangeStorage.unsafelyUnwrapped
        }
    }

    var parser: RequestParser {
        _read { yield exchange.parser }
        _modify { yield &exchange.parser }
    }
    var output: OutputQueue {
        _read { yield exchange.output }
        _modify { yield &exchange.output }
    }
    /// Input received and not yet consumed by the parser (a partial request, or pipelined requests
    /// held back by backpressure). Empty most of the time: input is parsed in the reactor's buffer.
    var pending: [UInt8] {
        _read { yield exchange.pending }
        _modify { yield &exchange.pending }
    }
    var response: ResponseFraming {
        _read { yield exchange.response }
        _modify { yield &exchange.response }
    }

    /// The exchange in progress, if any (never creates one).
    var currentExchange: Exchange? { exchangeStorage }

    /// The current request's body, as the machine knows it (for `rfile`).
    var requestBody: ConnectionStateMachine.Body? {
        // On a worker, the machine is the reactor's: a streamed body is told by its buffer.
        if workerJob != nil {
            guard let workerBody else { return .buffered }
            guard let ending = workerBody.ending else { return .streaming(.flowing) }
            return .streamEnded(complete: ending == .complete)
        }
        return machine.request?.body
    }

    /// True while part of a request has been received and not yet handled.
    var isMidMessage: Bool { exchangeStorage?.parser.isMidMessage ?? false }

    /// Input held back, parsed later (never creates an exchange).
    var holdsInput: Bool { !(exchangeStorage?.pending.isEmpty ?? true) }

    /// Gives the per-request state back to the pool when nothing of a request is pending: not at
    /// once, but at the context's next sweep (at most 100 ms away) if the connection is still idle
    /// then. A keep-alive connection in use keeps its exchange from one request to the next; an
    /// idle one holds none.
    // callgrind: −425 instructions per keep-alive request (7,800 → 7,376: a pool round trip per request)
    func releaseExchangeIfIdle() {
        guard parkIndex < 0, exchangeStorage != nil, machine.isBetweenRequests else { return }
        if context.hasRoomToPark {
            context.park(self)
        } else {
            giveBackIdleExchange()  // a crowd going idle at once holds no more exchanges than before
        }
    }

    /// The context's sweep: the exchange goes back to the pool if the connection is still idle.
    func giveBackIdleExchange() {
        guard let exchange = exchangeStorage, machine.isBetweenRequests, exchange.isIdle else { return }
        exchangeStorage = nil
        pool.give(exchange)
    }

    // MARK: Transport events

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        context.metrics?.bytesIn += bytes.count
        guard machine.acceptsInput else { return }
        if pending.isEmpty {
            let used = process(bytes)
            if used < bytes.count && machine.acceptsInput {
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
        switch machine.inputEnded(holdsRequests: holdsInput) {
        case .close: close()
        case .finishInput: finishInput()
        case .clientLeft(let reportStreamEnd, let informHandler):
            clientLeft(reportingStreamEnd: reportStreamEnd, informingHandler: informHandler)
        case .none: break
        }
    }

    /// While reading was paused, the client closed its side. If the body being streamed can no
    /// longer arrive whole (fewer bytes are on their way than it still lacks), the client is gone:
    /// the stream ends incomplete now, and a handler watching for the client's close (a CGI script
    /// with nobody left to answer) hears it now rather than never.
    func peerHalfClosed(unreadBytes: Int) {
        guard let exchange = exchangeStorage, machine.isAwaitingDeferredResponse else { return }
        // Chunked: how much is missing is unknown; the bytes and the end come on resuming.
        var mayStillComplete = true
        if case .contentLength(let total) = exchange.parser.head.framing,
           exchange.streamedBodyBytes + exchange.pending.count + unreadBytes < total {
            mayStillComplete = false
        }
        if case .clientLeft(let reportStreamEnd, let informHandler) = machine.clientHalfClosed(streamMayStillComplete: mayStillComplete) {
            clientLeft(reportingStreamEnd: reportStreamEnd, informingHandler: informHandler)
        }
    }

    /// The client has gone while a deferred response is open.
    private func clientLeft(reportingStreamEnd: Bool, informingHandler: Bool) {
        // Python's attribute: a response still to be written says `Connection: close`.
        // (A handler on a worker is the worker's: the machine closes after its response anyway.)
        if informingHandler && workerJob == nil { handler?.closeConnection = true }
        if reportingStreamEnd { reportStreamEnd(complete: false) }
        if let watcher = exchangeStorage?.clientCloseWatcher {
            exchangeStorage?.clientCloseWatcher = nil
            watcher()
        }
    }

    /// No more bytes will come and every byte received has been parsed.
    func finishInput() {
        switch machine.inputFinished(isMidMessage: isMidMessage, hasOutput: !(exchangeStorage?.output.isEmpty ?? true)) {
        case .failIncomplete:
            // RFC 9112 §8: an incomplete message is an error; answer it while we still can.
            failRequest(ParseError(.badRequestLine, status: 400), detail: .incomplete)
            flushOutput()
        case .close:
            close()
        case .flush:
            flushOutput()
        case .none:
            break
        }
    }

    func transportWritable() {
        flushOutput()
        if workerJob != nil { releaseWorkerIfRoom() }
        if exchangeStorage?.stream != nil { streamWrote() }
        releaseExchangeIfIdle()
    }

    func transportFailed(_ error: SystemError) {
        close()
    }
}
