/// The HTTP/1 protocol state of one connection, and nothing else: no transport, handler, buffer
/// pool or clock.
///
/// Every event is a `mutating` method that changes the state first and then returns an action
/// (`+Actions.swift`), which `HTTPConnection` carries out. Its parts change independently:
/// - `state`: where the connection is in its request/response cycle, with the data of the
///   request in progress as associated values;
/// - `reading`: whether the transport is asked for more bytes, and who stopped it;
/// - `input` and `lifetime`: whether the client's side has ended, and whether the server has
///   decided that this connection ends after its current request.
///
/// Events that cannot happen in a state get a defined answer (`.ignore`, `.none` or a close),
/// never a trap: the order of events comes from the peer.
struct ConnectionStateMachine: Equatable {
    private(set) var state: State = .awaitingRequest
    private(set) var reading: Reading = .active
    private(set) var input: Input = .open
    private(set) var lifetime: Lifetime = .serving

    // MARK: Input

    /// Bytes from the client are ready to be parsed (`bytesLeft`: some remain unparsed).
    mutating func inputAvailable(bytesLeft: Bool) -> InputAction {
        switch state {
        case .awaitingRequest, .readingHead, .readingBody:
            return .parse
        case .runningHandler(let request) where request.streamsToWorker:  // the worker's `rfile.read`
            return request.body.isFlowing ? .parse : .holdForHandler
        case .runningHandler:
            return .stop
        case .awaitingDeferredResponse(let request):
            // Only a streamed body is read while the handler works, and only while it wants more.
            return request.body.isFlowing ? .parse : .holdForHandler
        case .closingAfterOutput:
            if bytesLeft { state = .closingAfterOutput(.clientMaySend) }
            return .discard
        case .lingering, .closed:
            return .discard
        }
    }

    /// The parser consumed what it was given and wants more.
    mutating func parserNeedsMore(isMidMessage: Bool) -> TimerAction {
        switch state {
        case .awaitingRequest where isMidMessage:
            state = .readingHead
            return .schedule(.head)
        case .readingBody, .awaitingDeferredResponse, .runningHandler where isStreamingToWorker:
            return .schedule(.body)
        case .awaitingRequest, .readingHead, .runningHandler, .closingAfterOutput, .lingering, .closed:
            return .none
        }
    }

    /// A request head was parsed. `reachesRequestLimit`: it is the last request the server allows
    /// on one connection.
    mutating func headReceived(clientKeepsAlive: Bool, reachesRequestLimit: Bool) -> HeadAction {
        switch state {
        case .awaitingRequest, .readingHead:
            if reachesRequestLimit { lifetime = .endsAfterCurrentRequest }
            let ending: Ending = lifetime == .serving ? .handlerDecides : .close
            state = .readingBody(Request(clientKeepsAlive: clientKeepsAlive, ending: ending))
            return .beginRequest(serverCloses: ending == .close)
        case .readingBody, .runningHandler, .awaitingDeferredResponse, .closingAfterOutput, .lingering, .closed:
            // A head while a request is in progress would desynchronise the framing.
            return .close
        }
    }

    /// The handler refused the body in `handleExpect100()`: it is not read, and the connection closes
    /// after the response, so that the unread body can never be taken for a request.
    @discardableResult
    mutating func bodyRefused() -> Acknowledgement {
        guard case .readingBody(var request) = state else { return .ignored }
        request.body = .refused
        state = .closingAfterOutput(.clientMaySend)
        return .accepted
    }

    /// The handler wants the body as a stream: it runs at once.
    mutating func streamingChosen() -> DispatchAction {
        guard case .readingBody(var request) = state else { return .ignore }
        request.body = .streaming(.flowing)
        state = .runningHandler(request)
        return .dispatch
    }

    /// The parser reached the end of the request (its body, or a head without one).
    mutating func bodyEnded() -> BodyEndAction {
        switch state {
        case .readingBody(let request):
            state = .runningHandler(request)
            return .dispatch
        case .awaitingDeferredResponse, .runningHandler where isStreamingToWorker:
            // `rfile.onEnd`, or the end of the worker's `rfile.read`.
            var tellsHandler = false
            state.updateRequest { tellsHandler = $0.body.parserPassedEnd() }
            return tellsHandler ? .reportStreamEnd(complete: true) : .keepParsing
        case .awaitingRequest, .readingHead, .runningHandler, .closingAfterOutput, .lingering, .closed:
            return .keepParsing
        }
    }

    /// A streamed body turned out malformed after the handler started answering. The parser is
    /// spent: nothing more of this connection's input is parsed, and it closes after the response.
    mutating func streamMalformed() -> MalformedStreamAction {
        guard request?.body.isStreamIncomplete == true, isAwaitingDeferredResponse || isStreamingToWorker else { return .ignore }
        var reportsStreamEnd = false
        state.updateRequest { reportsStreamEnd = $0.body.abandon(); $0.body = .refused; $0.ending = .close }
        return .refuse(reportStreamEnd: reportsStreamEnd)
    }

    /// `rfile.pause()`.
    @discardableResult
    mutating func streamPaused() -> Acknowledgement {
        var result = Acknowledgement.ignored
        state.updateRequest { if $0.body.setFlow(.paused) { result = .accepted } }
        return result
    }

    /// `rfile.resume()`: a streaming handler that paused wants more now.
    mutating func streamResumed() -> StreamResumeAction {
        var resumed = false
        state.updateRequest { resumed = $0.body.setFlow(.flowing) }
        guard resumed, isAwaitingDeferredResponse || isStreamingToWorker else { return .none }
        return .parseHeldInput(resumeReading: releaseHandlerPause())
    }

    /// Nothing more is parsed while the handler holds the connection: returns whether the
    /// transport must stop reading.
    @discardableResult
    mutating func handlerHoldsInput() -> TransportAction {
        guard reading == .active else { return .none }
        reading = .pausedForHandler
        return .pauseReading
    }

    /// More output is queued than the high-water mark: reading stops until it drains.
    @discardableResult
    mutating func outputBacklogged() -> TransportAction {
        // A worker waiting for room stops reading its body: the full body buffer pauses reading.
        if isStreamingToWorker { return .none }
        switch reading {
        case .active:
            reading = .pausedForOutput
            return .pauseReading
        case .pausedForHandler:
            reading = .pausedForOutput
            return .none
        case .pausedForOutput:
            return .none
        }
    }

    // MARK: Handler

    /// `deferResponse()`: the response ends with `finishResponse()`, not when the handler returns.
    @discardableResult
    mutating func responseDeferred() -> Acknowledgement {
        guard case .runningHandler(var request) = state else { return .ignored }
        request.response = .deferred
        state = .runningHandler(request)
        return .accepted
    }

    /// The handler threw: its response (a 500 when it had not answered) ends now and the
    /// connection closes after it.
    @discardableResult
    mutating func handlerThrew() -> Acknowledgement {
        guard case .runningHandler(var request) = state else { return .ignored }
        request.response = .immediate
        request.ending = .close
        state = .runningHandler(request)
        return .accepted
    }

    /// `ThreadingHTTPServer`: the handler runs on a worker thread. Nothing more is parsed, and the
    /// transport stops reading, until the reactor hears that it has returned (`handlerReturned`).
    mutating func handlerMovedToWorker() -> TransportAction {
        guard case .runningHandler(var request) = state else { return .none }
        request.response = .onWorker
        state = .runningHandler(request)
        if request.body.isStreamIncomplete { return .none }  // the body goes on, for `rfile.read`
        return handlerHoldsInput()
    }

    /// `whenClientCloses` from a worker that deferred its response: reading resumes, to see the end.
    mutating func clientCloseWatched() -> Bool {
        guard isAwaitingDeferredResponse else { return false }
        return releaseHandlerPause()
    }

    /// `handleOneRequest()` returned.
    mutating func handlerReturned() -> HandlerDoneAction {
        guard case .runningHandler(let request) = state else { return .none }  // closed meanwhile
        switch request.response {
        case .immediate, .onWorker:
            return .checkResponse
        case .deferred:
            state = .awaitingDeferredResponse(request)
            // Pipelined requests wait (unread) until the response is finished; a body still
            // streaming in keeps flowing.
            return .awaitDeferredResponse(holdsInput: !request.body.isStreamIncomplete)
        }
    }

    /// `finishResponse()`.
    mutating func responseFinished() -> HandlerDoneAction {
        switch state {
        case .runningHandler(var request):
            // Finished inside `doXXX()`: the return does the rest.
            request.response = .immediate
            state = .runningHandler(request)
            return .none
        case .awaitingDeferredResponse:
            return .checkResponse
        case .awaitingRequest, .readingHead, .readingBody, .closingAfterOutput, .lingering, .closed:
            return .none
        }
    }

    /// The connection has checked the finished response (`isFramed`: it tells the client where
    /// it ends) and read the handler's `closeConnection`, Python's attribute, which is an input
    /// here as in Python's `handle()` loop. Decides whether the connection stays open.
    mutating func responseChecked(handlerCloses: Bool, isFramed: Bool) -> CompletionAction {
        let request: Request
        switch state {
        case .runningHandler(let current), .awaitingDeferredResponse(let current):
            request = current
        case .awaitingRequest, .readingHead, .readingBody, .closingAfterOutput, .lingering, .closed:
            return .ignore
        }
        let resumesReading = releaseHandlerPause()
        // Answered before the streamed body arrived: the rest of it is not worth reading.
        let abandonsStream = request.body.isStreamIncomplete
        if handlerCloses || !isFramed || abandonsStream || request.ending == .close {
            state = .closingAfterOutput(request.clientKeepsAlive ? .clientMaySend : .clientDone)
            if case .streaming = request.body {
                return .closeAfterOutput(reportStreamEnd: true, resumeReading: resumesReading)
            }
            return .closeAfterOutput(reportStreamEnd: false, resumeReading: resumesReading)
        }
        state = .awaitingRequest
        return .awaitNextRequest(resumeReading: resumesReading)
    }

    /// Bytes of the client's were dropped unread (pipelined requests after the last response).
    @discardableResult
    mutating func unreadInputDropped() -> Acknowledgement {
        guard case .closingAfterOutput = state else { return .ignored }
        state = .closingAfterOutput(.clientMaySend)
        return .accepted
    }

    /// A request cannot be served (bad syntax, a limit, a timeout, an incomplete message): its
    /// error page is sent unless a response has already begun, and the connection closes after it.
    mutating func requestFailed(responseStarted: Bool) -> FailureAction {
        switch state {
        case .awaitingRequest, .readingHead, .readingBody, .runningHandler, .awaitingDeferredResponse:
            // The rest of a refused request may still be on its way: linger.
            state = .closingAfterOutput(.clientMaySend)
            return responseStarted ? .closeAfterQueuedOutput : .sendErrorPage
        case .closingAfterOutput, .lingering, .closed:
            return .ignore
        }
    }

    // MARK: The client's end

    /// The client half-closed its side. `holdsRequests`: requests held back by backpressure
    /// are still to be answered (the end is handled after them).
    mutating func inputEnded(holdsRequests: Bool) -> InputEndAction {
        input = .ended
        switch state {
        case .closed:
            return .none
        case .lingering:
            return .close
        case .awaitingRequest, .readingHead, .readingBody:
            if reading == .pausedForOutput && holdsRequests { return .none }
            return .finishInput
        case .awaitingDeferredResponse, .runningHandler where isStreamingToWorker:
            return clientLeft()  // a streamed body (a worker's `rfile.read` too) ends short
        case .runningHandler, .closingAfterOutput:
            // The response in flight is still delivered (a half-close is not a reset).
            return .none
        }
    }

    /// While reading was paused, the transport saw the client close its side.
    /// `streamMayStillComplete`: enough bytes are on their way to complete a streamed body.
    mutating func clientHalfClosed(streamMayStillComplete: Bool) -> InputEndAction {
        guard case .awaitingDeferredResponse(let request) = state else { return .none }
        if request.body.isStreamIncomplete && streamMayStillComplete { return .none }
        return clientLeft()
    }

    /// The client is gone while a deferred response is open: a streamed body can no longer
    /// arrive whole, and a handler watching for the client's close hears it now.
    private mutating func clientLeft() -> InputEndAction {
        var reportsStreamEnd = false
        var closes = false
        state.updateRequest { request in
            guard request.body.isStreamIncomplete else { return }
            request.ending = .close
            closes = true
            reportsStreamEnd = request.body.abandon()
        }
        return .clientLeft(reportStreamEnd: reportsStreamEnd, informHandler: closes)
    }

    /// No more bytes will come and every byte received has been parsed.
    mutating func inputFinished(isMidMessage: Bool, hasOutput: Bool) -> FinishInputAction {
        switch state {
        case .readingHead, .readingBody:
            return .failIncomplete
        case .awaitingRequest, .runningHandler, .awaitingDeferredResponse:
            // RFC 9112 §8: an incomplete message is an error; answer it while we still can.
            if isMidMessage { return .failIncomplete }
            guard hasOutput else { return .close }
            state = .closingAfterOutput(.clientMaySend)
            return .flush
        case .closingAfterOutput, .lingering, .closed:
            return .none
        }
    }

    // MARK: Output

    /// Everything queued has been written.
    mutating func outputDrained() -> DrainAction {
        switch state {
        case .closingAfterOutput(let farewell):
            if closesWithoutLingering(farewell) { return .close }
            state = .lingering
            let wasPaused = reading != .active
            reading = .active
            return .linger(resumeReading: wasPaused)
        case .awaitingRequest, .readingHead, .readingBody:
            guard reading == .pausedForOutput else { return .settle }
            reading = .active
            return .resumeReading
        case .runningHandler, .awaitingDeferredResponse, .lingering, .closed:
            return .none
        }
    }

    /// After a drain (and the held requests it let through): what watches the connection now.
    mutating func outputSettled(holdsRequests: Bool, isMidMessage: Bool, sendTimeoutArmed: Bool) -> SettleAction {
        if state == .awaitingRequest && input == .ended && !holdsRequests { return .finishInput }
        guard sendTimeoutArmed, let kind = stateTimeout(isMidMessage: isMidMessage) else { return .none }
        // The send timeout was watching a blocked write; the state's own timeout resumes.
        return .schedule(kind)
    }

    // MARK: Close

    /// The server asks the connection to close gracefully (shutdown). `isIdle`: nothing of a
    /// request has arrived or is held.
    mutating func closeRequested(isIdle: Bool) -> GracefulCloseAction {
        lifetime = .endsAfterCurrentRequest
        switch state {
        case .awaitingRequest where isIdle:
            // Shut the write side and linger, so that a request already on its way is read and
            // dropped rather than answered with a reset.
            state = .closingAfterOutput(.clientMaySend)
            return .closeAfterOutput
        case .awaitingRequest, .readingHead:
            return .informHandler
        case .runningHandler(let request) where request.response == .onWorker:
            // The handler's attributes are its worker's now: the response does not say so, but the
            // connection closes after it all the same.
            state.updateRequest { $0.ending = .close }
            return .none
        case .readingBody, .runningHandler, .awaitingDeferredResponse:
            state.updateRequest { $0.ending = .close }
            return .informHandler
        case .closingAfterOutput, .lingering, .closed:
            return .none
        }
    }

    /// The connection closes now (a reset, a failed write, a timeout, the end of lingering, the
    /// server closing): queued output is dropped.
    mutating func closed() -> CloseAction {
        if state == .closed { return .none }
        // A streamed body whose end the handler has not heard of ends incomplete with the connection.
        var reportsStreamEnd = false
        if case .streaming = request?.body { reportsStreamEnd = true }
        state = .closed
        return .release(reportStreamEnd: reportsStreamEnd)
    }

    /// Ends a pause for the handler: returns whether the transport must resume reading.
    private mutating func releaseHandlerPause() -> Bool {
        guard reading == .pausedForHandler else { return false }
        reading = .active
        return true
    }
}
