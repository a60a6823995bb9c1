import HTTPServerHTTP1

/// The handler's side: dispatch, deferred responses, the end of a request, error answers.
extension HTTPConnection {
    @discardableResult
    func ensureHandler() -> BaseHTTPRequestHandler {
        if let handler { return handler }
        let handler = context.makeHandler()
        handler.attach(to: self, peer: addressForHandler?.address)
        addressForHandler = nil
        self.handler = handler
        handler.setup()
        handler.handle()
        return handler
    }

    /// Runs the handler; the machine is already in `.runningHandler`.
    func dispatch() {
        let handler = ensureHandler()
        if handler.isAsync {
            dispatchAsync(unsafeDowncast(handler, to: AsyncHTTPRequestHandler.self))
            return
        }
        if context.workers != nil, let body = machine.request?.body, body == .buffered || body == .streaming(.flowing) {
            dispatchToWorker(handler)
            return
        }
        do {
            try handler.handleOneRequest()
        } catch {
            machine.handlerThrew()
            handlerThrew(error, handler)
        }
        switch machine.handlerReturned() {
        case .checkResponse:
            completeRequest(handler)
        case .awaitDeferredResponse(let holdsInput):
            // The handler answers later; pipelined requests wait (unread) until it has.
            if holdsInput && exchange.clientCloseWatcher == nil { holdInputForHandler() }
        case .none:
            break  // closed meanwhile
        }
    }

    /// The handler's `deferResponse()`.
    func responseDeferred() {
        if let workerJob { workerJob.defersResponse = true; return }
        if let run = exchangeStorage?.asyncRun {
            run.handlerDefers = true
            if !run.isStarting { return }  // the machine already waits for the task
        }
        machine.responseDeferred()
    }

    /// The handler's `finishResponse()`: its deferred response is complete.
    func deferredResponseFinished() {
        if let workerJob { workerJob.defersResponse = false; return }  // finished inside `doXXX()`
        if let run = exchangeStorage?.asyncRun {
            run.handlerDefers = false
            if !run.isStarting { return }  // the task's end finishes it
        }
        guard machine.responseFinished() == .checkResponse, let handler else { return }
        completeRequest(handler)
        processPending()
    }

    /// `BaseHTTPRequestHandler.whenClientCloses`.
    func watchClientClose(_ watcher: @escaping () -> Void) {
        if let workerJob { workerJob.clientCloseWatcher = watcher; return }  // set when it returns
        guard !machine.isClosed else { return }
        exchange.clientCloseWatcher = watcher
    }

    /// `rfile.pause()`.
    func streamPaused() {
        guard workerJob == nil else { return }  // a worker's body is buffered
        machine.streamPaused()
    }

    /// `rfile.resume()`: a streaming handler that paused wants more now.
    func streamResumed() {
        guard workerJob == nil, case .parseHeldInput(let resumesReading) = machine.streamResumed() else { return }
        if resumesReading { transport.resumeReading() }
        if pending.isEmpty {
            // The parser still gets a turn with no new bytes: when the pause came with the body's
            // last bytes, only the parser can say the body has ended (`.end`).
            _ = process(UnsafeRawBufferPointer(start: nil, count: 0))
            flushOutput()
        } else {
            processPending()
        }
    }

    func holdInputForHandler() {
        if machine.handlerHoldsInput() == .pauseReading { transport.pauseReading() }
    }

    func handlerThrew(_ error: any Error, _ handler: BaseHTTPRequestHandler) {
        context.handleError(error, handler.clientSocketAddress)
        if !response.hasFinalStatus && !response.wroteRawBytes {
            if let mark = response.headMark {
                output.rollBack(to: mark, pool: pool)
            }
            response = ResponseFraming()
            handler.sendError(500)
        }
    }

    /// Checks that the response the handler wrote frames itself: returns false when it does not,
    /// and the connection then closes after it, so that the client is never left waiting and
    /// never misreads the next response.
    func checkResponse(_ handler: BaseHTTPRequestHandler) -> Bool {
        var isFramed = true
        if let mark = response.headMark {
            // A head that was started and never ended: nothing of it has been written.
            output.rollBack(to: mark, pool: pool)
            response.headMark = nil
            handler.logError("response head not ended by endHeaders(); sending 500")
            response = ResponseFraming()
            handler.sendError(500)
            isFramed = false
        }
        if handler.isHTTP09 {
            isFramed = false  // an HTTP/0.9 response ends with the connection
        } else if !response.hasFinalStatus {
            if !response.wroteRawBytes {
                handler.logError("handler sent no response; closing the connection")
            }
            isFramed = false
        } else if let declared = response.declaredLength, response.isBodyAllowed, response.bodyWritten != declared {
            handler.logError("response body was \(response.bodyWritten) bytes, Content-Length said \(declared); closing the connection")
            isFramed = false
        }
        return isFramed
    }

    /// The handler is done with the request: the machine decides, with the handler's
    /// `closeConnection` as an input, whether the connection reads the next one or closes.
    func completeRequest(_ handler: BaseHTTPRequestHandler) {
        let isFramed = checkResponse(handler)
        switch machine.responseChecked(handlerCloses: handler.closeConnection, isFramed: isFramed) {
        case .awaitNextRequest(let resumesReading):
            forgetRequest(handler)
            parser.reset()
            exchange.isParserUsed = false
            context.timeouts.schedule(self, .idle)
            if resumesReading { transport.resumeReading() }
        case .closeAfterOutput(let reportsStreamEnd, let resumesReading):
            if reportsStreamEnd { exchangeStorage?.reportStreamEnd(complete: false) }
            forgetRequest(handler)
            cancelRequest()
            if resumesReading { transport.resumeReading() }
        case .ignore:
            break
        }
    }

    private func forgetRequest(_ handler: BaseHTTPRequestHandler) {
        if exchange.stream != nil { endStream() }
        context.responseCompleted(handler, status: response.finalStatus, bodyBytes: response.bodyWritten)
        handler.endRequest()
        context.onRequestFinished?()
        response = ResponseFraming()
        exchange.resetRequest(pool: pool)
        if case .saved = exchange.head { pool.give(&exchange.savedHead) }
        exchange.head = .none
    }

    /// Forgets the request in progress (no more input will be parsed on this connection).
    func cancelRequest() {
        if case .inReadBuffer = exchange.head { exchange.head = .none }
        if !pending.isEmpty {
            machine.unreadInputDropped()
            pool.give(&pending)
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
        let responseStarted = response.headMark != nil || response.hasFinalStatus
        guard machine.requestFailed(responseStarted: responseStarted) == .sendErrorPage else { return }
        context.metrics?.requestRejected(error)
        handler.prepareForError(error, detail: detail)
        let (message, explain) = ErrorMessages.describe(error, requestLine: handler.requestline, detail: detail)
        handler.sendError(HTTPStatus(error.status), message: message, explain: explain)
        context.responseCompleted(handler, status: response.finalStatus, bodyBytes: response.bodyWritten)
        cancelRequest()
        context.onRequestFinished?()
    }
}
