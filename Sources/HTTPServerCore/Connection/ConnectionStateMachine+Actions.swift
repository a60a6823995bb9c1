/// What `HTTPConnection` does after an event of `ConnectionStateMachine`: one enum per kind of event.
extension ConnectionStateMachine {
    /// An event that only changes the state.
    enum Acknowledgement: Equatable {
        case accepted
        /// The event cannot happen in this state; nothing changed.
        case ignored
    }

    /// `inputAvailable(bytesLeft:)`.
    enum InputAction: Equatable {
        /// Give the bytes to the parser.
        case parse
        /// The handler is running: parse nothing until it returns.
        case stop
        /// A deferred response holds further input back: stop, and stop the transport reading.
        case holdForHandler
        /// The connection is ending: the bytes are dropped.
        case discard
    }

    enum TimerAction: Equatable {
        case schedule(TimeoutQueue.Kind)
        case none
    }

    enum TransportAction: Equatable {
        case pauseReading
        case none
    }

    /// `headReceived(clientKeepsAlive:reachesRequestLimit:)`.
    enum HeadAction: Equatable {
        /// Tell the handler a request has begun (`serverCloses`: its `closeConnection` starts true).
        case beginRequest(serverCloses: Bool)
        case close
    }

    enum DispatchAction: Equatable {
        /// Run the handler (`handleOneRequest()`).
        case dispatch
        case ignore
    }

    /// `bodyEnded()`.
    enum BodyEndAction: Equatable {
        case dispatch
        /// Call the handler's `rfile.onEnd`, then go on parsing.
        case reportStreamEnd(complete: Bool)
        case keepParsing
    }

    /// `streamMalformed()`: the body is refused and the connection closes after the response.
    enum MalformedStreamAction: Equatable {
        /// Set the handler's `closeConnection` (its response says `Connection: close`), and call
        /// `rfile.onEnd(false)` when `reportStreamEnd`.
        case refuse(reportStreamEnd: Bool)
        case ignore
    }

    /// `streamResumed()`.
    enum StreamResumeAction: Equatable {
        /// Parse what is held (and ask the transport for more when `resumeReading`).
        case parseHeldInput(resumeReading: Bool)
        case none
    }

    /// `handlerReturned()` and `responseFinished()`.
    enum HandlerDoneAction: Equatable {
        /// Check that the response frames itself, then report with `responseChecked`.
        case checkResponse
        /// Wait for `finishResponse()`; `holdsInput`: stop reading (unless the handler watches
        /// for the client's close).
        case awaitDeferredResponse(holdsInput: Bool)
        case none
    }

    /// `responseChecked(handlerCloses:isFramed:)`: the request is over.
    enum CompletionAction: Equatable {
        /// Forget the request; wait for the next one (idle timeout).
        case awaitNextRequest(resumeReading: Bool)
        /// Forget the request and the unparsed input; close once the output is written.
        case closeAfterOutput(reportStreamEnd: Bool, resumeReading: Bool)
        case ignore
    }

    /// `requestFailed(responseStarted:)`.
    enum FailureAction: Equatable {
        /// Send the error page for the failure, then close after it.
        case sendErrorPage
        /// Too late for a clean answer: close after what is queued.
        case closeAfterQueuedOutput
        case ignore
    }

    /// `inputEnded(holdsRequests:)` and `clientHalfClosed(streamMayStillComplete:)`.
    enum InputEndAction: Equatable {
        case close
        /// Report `inputFinished` (nothing is left to parse).
        case finishInput
        /// Tell a handler watching for the client's close (`whenClientCloses`), after calling
        /// `rfile.onEnd(false)` when `reportStreamEnd`; `informHandler`: the connection now
        /// closes after the response (set the handler's `closeConnection`).
        case clientLeft(reportStreamEnd: Bool, informHandler: Bool)
        case none
    }

    /// `inputFinished(isMidMessage:hasOutput:)`.
    enum FinishInputAction: Equatable {
        /// Answer 400 (an incomplete request) with `requestFailed`.
        case failIncomplete
        case close
        /// Write what is queued, then close.
        case flush
        case none
    }

    /// `outputDrained()`.
    enum DrainAction: Equatable {
        case close
        /// Shut the write side, read and drop until the client closes (linger timeout).
        case linger(resumeReading: Bool)
        /// Ask the transport for more, parse what was held back, then `outputSettled`.
        case resumeReading
        /// Report `outputSettled`.
        case settle
        case none
    }

    /// `outputSettled(holdsRequests:isMidMessage:sendTimeoutArmed:)`.
    enum SettleAction: Equatable {
        /// The client has closed and everything is answered: report `inputFinished`.
        case finishInput
        case schedule(TimeoutQueue.Kind)
        case none
    }

    /// `timedOut(_:isMidMessage:)`.
    enum TimeoutAction: Equatable {
        /// Close now (`closed()`).
        case close
        /// Answer 408 with `requestFailed`.
        case failRequest
        case none
    }

    /// `closeRequested(isIdle:)`.
    enum GracefulCloseAction: Equatable {
        /// Close once what is queued (nothing) is written: shut the write side and linger.
        case closeAfterOutput
        /// Set the handler's `closeConnection` (its response then says `Connection: close`).
        case informHandler
        case none
    }

    /// `closed()`.
    enum CloseAction: Equatable {
        /// Drop the queued output, close the transport, tell the handler (`finish()`), after
        /// calling `rfile.onEnd(false)` when `reportStreamEnd`.
        case release(reportStreamEnd: Bool)
        case none
    }
}
