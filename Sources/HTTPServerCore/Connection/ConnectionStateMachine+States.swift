/// The states, and the data they carry, of `ConnectionStateMachine`.
extension ConnectionStateMachine {
    enum State: Equatable {
        /// Between requests, or before the first: nothing of a request has arrived. Idle timeout.
        case awaitingRequest
        /// Part of a request head has arrived. Head timeout, counted from its first byte.
        case readingHead
        /// The head is done; the body is arriving. Body timeout, counted from the last read.
        case readingBody(Request)
        /// The handler is running (`handleOneRequest()`).
        case runningHandler(Request)
        /// The handler returned after `deferResponse()`; the connection waits for
        /// `finishResponse()`. A streamed request body may still be arriving.
        case awaitingDeferredResponse(Request)
        /// The last response is queued; once it is written, the connection closes or lingers.
        case closingAfterOutput(Farewell)
        /// Write side shut; input is read and discarded until the peer closes or the linger timeout.
        case lingering
        case closed

        /// The state's name without its data: the `state` label of the connections gauge.
        var name: String {
            switch self {
            case .awaitingRequest: "awaitingRequest"
            case .readingHead: "readingHead"
            case .readingBody: "readingBody"
            case .runningHandler: "runningHandler"
            case .awaitingDeferredResponse: "awaitingDeferredResponse"
            case .closingAfterOutput: "closingAfterOutput"
            case .lingering: "lingering"
            case .closed: "closed"
            }
        }
    }

    /// What the machine knows of the request in progress.
    struct Request: Equatable {
        var body: Body = .buffered
        /// The client's side of the keep-alive rule (`RequestHead.clientKeepsAlive`).
        var clientKeepsAlive: Bool
        /// Whether the connection may stay open after this request; the handler's
        /// `closeConnection` is asked only when this is `.handlerDecides`.
        var ending: Ending
        /// While the handler runs: whether it has called `deferResponse()`.
        var response: ResponseTiming = .immediate

        /// `ThreadingHTTPServer`: the handler runs on a worker and reads its body as it arrives
        /// (the reactor parses it into the worker's `StreamedBody`).
        var streamsToWorker: Bool { response == .onWorker && body != .buffered }
    }

    /// What happens to a request's body.
    enum Body: Equatable {
        /// Received whole before the handler runs (or there is none).
        case buffered
        /// Handed to the handler piece by piece as it arrives (`rfile.onData`); its end not yet
        /// reported.
        case streaming(Flow)
        /// Streamed, and reported ended incomplete (the client went away) while the parser is
        /// still inside it: what the client had sent before it left is still delivered.
        case streamAbandoned(Flow)
        /// The streamed body's end has been reported (`rfile.onEnd`) and the parser is past it.
        case streamEnded(complete: Bool)
        /// Not read: the handler refused it in `handleExpect100()`, or (streamed) it turned out
        /// malformed.
        case refused
    }

    /// Streaming backpressure: `rfile.pause()` / `rfile.resume()`.
    enum Flow: Equatable {
        case flowing
        case paused
    }

    enum Ending: Equatable {
        /// The handler's `closeConnection` decides, with the checks of its response.
        case handlerDecides
        /// The connection closes after this response, whatever the handler says.
        case close
    }

    enum ResponseTiming: Equatable {
        /// The response is complete when the handler returns.
        case immediate
        /// The handler called `deferResponse()`: the response ends with `finishResponse()`.
        case deferred
        /// `ThreadingHTTPServer`: the handler runs on a worker thread; the response is complete
        /// when the reactor hears that it has returned (a `deferResponse()` on the worker is
        /// told to the machine then).
        case onWorker
    }

    /// After the last response: whether the client will send nothing more.
    enum Farewell: Equatable {
        /// The client said it closes, and nothing it sent was left unread: close at once (as
        /// nginx decides).
        case clientDone
        /// The client may still be sending: shut the write side and linger (RFC 9112 §9.6).
        case clientMaySend
    }

    /// Whether the connection asks its transport for more bytes.
    enum Reading: Equatable {
        case active
        /// A deferred response holds pipelined input back (in the socket, not in memory).
        case pausedForHandler
        /// Too much output is queued: no more requests are parsed until it drains.
        case pausedForOutput
    }

    /// The client's side of the connection.
    enum Input: Equatable {
        case open
        /// The client half-closed (FIN): no more bytes will come.
        case ended
    }

    /// The server's decision about this connection as a whole.
    enum Lifetime: Equatable {
        case serving
        /// A graceful close was asked for (shutdown) or the request limit was reached: the
        /// connection ends after its current request, and its response says `Connection: close`.
        case endsAfterCurrentRequest
    }
}

extension ConnectionStateMachine.State {
    /// Changes the request in progress; no change in a state without one.
    mutating func updateRequest(_ change: (inout ConnectionStateMachine.Request) -> Void) {
        switch self {
        case .readingBody(var request):
            change(&request)
            self = .readingBody(request)
        case .runningHandler(var request):
            change(&request)
            self = .runningHandler(request)
        case .awaitingDeferredResponse(var request):
            change(&request)
            self = .awaitingDeferredResponse(request)
        case .awaitingRequest, .readingHead, .closingAfterOutput, .lingering, .closed:
            break
        }
    }
}

extension ConnectionStateMachine {
    // MARK: Queries

    /// The request in progress, if the head has been received.
    var request: Request? {
        switch state {
        case .readingBody(let request), .runningHandler(let request), .awaitingDeferredResponse(let request):
            return request
        case .awaitingRequest, .readingHead, .closingAfterOutput, .lingering, .closed:
            return nil
        }
    }

    /// The connection still takes bytes from the client to parse.
    var acceptsInput: Bool {
        switch state {
        case .awaitingRequest, .readingHead, .readingBody, .runningHandler, .awaitingDeferredResponse: return true
        case .closingAfterOutput, .lingering, .closed: return false
        }
    }

    /// The request's head must stay readable after the read buffer it was parsed in is reused.
    var requestOutlivesRead: Bool {
        switch state {
        case .readingBody, .awaitingDeferredResponse: return true
        case .awaitingRequest, .readingHead, .runningHandler, .closingAfterOutput, .lingering, .closed: return false
        }
    }

    /// Nothing of a request is in progress and no parsing is held back: the per-request storage
    /// can go back to the pool (when it holds nothing either).
    var isBetweenRequests: Bool {
        state == .awaitingRequest && reading != .pausedForOutput
    }

    /// The last response is queued and nothing will be read after it: its last bytes may carry the FIN.
    var outputEndsStream: Bool {
        if case .closingAfterOutput(let farewell) = state { return closesWithoutLingering(farewell) }
        return false
    }

    var isClosed: Bool { state == .closed }

    /// `ThreadingHTTPServer`: a handler on a worker reads its body as it arrives.
    var isStreamingToWorker: Bool {
        if case .runningHandler(let request) = state { return request.streamsToWorker }
        return false
    }

    /// A handler's response written now goes out at once (the handler runs outside a read).
    var isAwaitingDeferredResponse: Bool {
        if case .awaitingDeferredResponse = state { return true }
        return false
    }

    /// After its last response the connection closes at once, without lingering, when the client
    /// said it closes and sent nothing we left unread, or has already closed its side.
    func closesWithoutLingering(_ farewell: Farewell) -> Bool {
        input == .ended || farewell == .clientDone
    }

    /// The timeout that watches the current state (when no write is blocked).
    func stateTimeout(isMidMessage: Bool) -> TimeoutQueue.Kind? {
        switch state {
        case .awaitingRequest: return isMidMessage ? .head : .idle
        case .readingHead: return .head
        case .readingBody: return .body
        case .runningHandler, .awaitingDeferredResponse, .closingAfterOutput, .lingering, .closed: return nil
        }
    }
}

extension ConnectionStateMachine.Body {
    /// Streamed, and the parser is still inside it.
    var isStreamIncomplete: Bool {
        switch self {
        case .streaming, .streamAbandoned: return true
        case .buffered, .streamEnded, .refused: return false
        }
    }

    /// Streamed, and the handler wants more of it now.
    var isFlowing: Bool {
        switch self {
        case .streaming(.flowing), .streamAbandoned(.flowing): return true
        case .streaming(.paused), .streamAbandoned(.paused), .buffered, .streamEnded, .refused: return false
        }
    }

    /// The stream's end has been reported (`rfile.onEnd` is called at once), and how.
    var reportedEnd: Bool? {
        switch self {
        case .streamAbandoned: return false
        case .streamEnded(let complete): return complete
        case .streaming, .buffered, .refused: return nil
        }
    }

    /// `rfile.pause()` / `rfile.resume()`: returns whether the flow changed.
    mutating func setFlow(_ flow: ConnectionStateMachine.Flow) -> Bool {
        switch self {
        case .streaming(let current) where current != flow:
            self = .streaming(flow)
            return true
        case .streamAbandoned(let current) where current != flow:
            self = .streamAbandoned(flow)
            return true
        case .streaming, .streamAbandoned, .buffered, .streamEnded, .refused:
            return false
        }
    }

    /// The stream ends incomplete: returns whether that must still be reported to the handler.
    mutating func abandon() -> Bool {
        switch self {
        case .streaming(let flow):
            self = .streamAbandoned(flow)
            return true
        case .streamAbandoned, .buffered, .streamEnded, .refused:
            return false
        }
    }

    /// The parser passed the end of a streamed body: returns whether the handler is told
    /// (`rfile.onEnd`), which it is unless it has heard of an incomplete end already.
    mutating func parserPassedEnd() -> Bool {
        switch self {
        case .streaming:
            self = .streamEnded(complete: true)
            return true
        case .streamAbandoned:
            self = .streamEnded(complete: false)
            return false
        case .buffered, .streamEnded, .refused:
            return false
        }
    }
}
