@testable import HTTPServerCore
import HTTPServerHTTP1
import Testing

/// The connection's state machine on its own: no transport, handler or clock. Each test drives
/// it through events and checks the state it reaches and the action it answers.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    typealias Request = ConnectionStateMachine.Request

    static let keepAlive = Request(clientKeepsAlive: true, ending: .handlerDecides)

    // MARK: Reaching each state

    static func readingHead() -> Machine {
        var machine = Machine()
        #expect(machine.parserNeedsMore(isMidMessage: true) == .schedule(.head))
        return machine
    }

    static func readingBody(clientKeepsAlive: Bool = true) -> Machine {
        var machine = Machine()
        #expect(machine.headReceived(clientKeepsAlive: clientKeepsAlive, reachesRequestLimit: false)
            == .beginRequest(serverCloses: false))
        return machine
    }

    static func runningHandler(streaming: Bool = false, clientKeepsAlive: Bool = true) -> Machine {
        var machine = readingBody(clientKeepsAlive: clientKeepsAlive)
        if streaming {
            #expect(machine.streamingChosen() == .dispatch)
        } else {
            #expect(machine.bodyEnded() == .dispatch)
        }
        return machine
    }

    static func awaitingDeferredResponse(streaming: Bool = false) -> Machine {
        var machine = runningHandler(streaming: streaming)
        #expect(machine.responseDeferred() == .accepted)
        #expect(machine.handlerReturned() == .awaitDeferredResponse(holdsInput: !streaming))
        return machine
    }

    static func closingAfterOutput(_ farewell: Machine.Farewell = .clientMaySend) -> Machine {
        var machine = runningHandler(clientKeepsAlive: farewell == .clientMaySend)
        #expect(machine.handlerReturned() == .checkResponse)
        _ = machine.responseChecked(handlerCloses: true, isFramed: true)
        #expect(machine.state == .closingAfterOutput(farewell))
        return machine
    }

    static func lingering() -> Machine {
        var machine = closingAfterOutput()
        #expect(machine.outputDrained() == .linger(resumeReading: false))
        return machine
    }

    static func closed() -> Machine {
        var machine = Machine()
        #expect(machine.closed() == .release(reportStreamEnd: false))
        return machine
    }

    /// One machine in every state, for the events that must have an answer in all of them.
    static func everyState() -> [Machine] {
        [Machine(), readingHead(), readingBody(), runningHandler(), awaitingDeferredResponse(),
         awaitingDeferredResponse(streaming: true), closingAfterOutput(), closingAfterOutput(.clientDone),
         lingering(), closed()]
    }

    // MARK: A keep-alive request

    @Test func aKeepAliveRequestGoesRoundToAwaitingTheNext() {
        var machine = Machine()
        #expect(machine.inputAvailable(bytesLeft: true) == .parse)
        #expect(machine.parserNeedsMore(isMidMessage: false) == .none)
        #expect(machine.state == .awaitingRequest)
        #expect(machine.parserNeedsMore(isMidMessage: true) == .schedule(.head))
        #expect(machine.state == .readingHead)
        #expect(machine.headReceived(clientKeepsAlive: true, reachesRequestLimit: false) == .beginRequest(serverCloses: false))
        #expect(machine.state == .readingBody(Self.keepAlive))
        #expect(machine.requestOutlivesRead)
        #expect(machine.parserNeedsMore(isMidMessage: true) == .schedule(.body))
        #expect(machine.bodyEnded() == .dispatch)
        #expect(machine.state == .runningHandler(Self.keepAlive))
        #expect(machine.inputAvailable(bytesLeft: true) == .stop)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: false))
        #expect(machine.state == .awaitingRequest)
        #expect(machine.isBetweenRequests)
    }

    @Test func theHandlersCloseConnectionClosesAfterTheResponse() {
        var machine = Self.runningHandler()
        _ = machine.handlerReturned()
        #expect(machine.responseChecked(handlerCloses: true, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
        #expect(machine.state == .closingAfterOutput(.clientMaySend))
        #expect(!machine.acceptsInput)
    }

    @Test func anUnframedResponseClosesWhateverTheHandlerSays() {
        var machine = Self.runningHandler()
        _ = machine.handlerReturned()
        #expect(machine.responseChecked(handlerCloses: false, isFramed: false)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aClientThatSaidCloseAndLeftNothingUnreadIsClosedWithoutLingering() {
        var machine = Self.closingAfterOutput(.clientDone)
        #expect(machine.outputEndsStream)
        #expect(machine.outputDrained() == .close)
        #expect(machine.closed() == .release(reportStreamEnd: false))
        #expect(machine.state == .closed)
    }

    @Test func unreadInputMakesTheConnectionLinger() {
        var machine = Self.closingAfterOutput(.clientDone)
        #expect(machine.unreadInputDropped() == .accepted)
        #expect(machine.state == .closingAfterOutput(.clientMaySend))
        #expect(!machine.outputEndsStream)
        #expect(machine.outputDrained() == .linger(resumeReading: false))
        #expect(machine.state == .lingering)
        #expect(machine.inputAvailable(bytesLeft: true) == .discard)
        #expect(machine.inputEnded(holdsRequests: false) == .close)
    }

    @Test func bytesAfterTheLastResponseMakeTheConnectionLinger() {
        var machine = Self.closingAfterOutput(.clientDone)
        #expect(machine.inputAvailable(bytesLeft: false) == .discard)
        #expect(machine.state == .closingAfterOutput(.clientDone))
        #expect(machine.inputAvailable(bytesLeft: true) == .discard)
        #expect(machine.state == .closingAfterOutput(.clientMaySend))
    }

    @Test func aClientThatHasClosedIsNotLingeredFor() {
        var machine = Self.closingAfterOutput(.clientMaySend)
        #expect(machine.inputEnded(holdsRequests: false) == .none)
        #expect(machine.outputEndsStream)
        #expect(machine.outputDrained() == .close)
    }

    // MARK: The server's decision

    @Test func theRequestLimitClosesAfterTheLastRequest() {
        var machine = Machine()
        #expect(machine.headReceived(clientKeepsAlive: true, reachesRequestLimit: true) == .beginRequest(serverCloses: true))
        #expect(machine.lifetime == .endsAfterCurrentRequest)
        #expect(machine.bodyEnded() == .dispatch)
        _ = machine.handlerReturned()
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aGracefulCloseOfAnIdleConnectionLingersAtOnce() {
        var machine = Machine()
        #expect(machine.closeRequested(isIdle: true) == .closeAfterOutput)
        #expect(machine.state == .closingAfterOutput(.clientMaySend))
        #expect(machine.lifetime == .endsAfterCurrentRequest)
    }

    @Test func aGracefulCloseOfABusyConnectionWaitsForItsResponse() {
        var machine = Self.runningHandler()
        #expect(machine.closeRequested(isIdle: false) == .informHandler)
        _ = machine.handlerReturned()
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
        var mid = Machine()
        #expect(mid.closeRequested(isIdle: false) == .informHandler)
        #expect(mid.state == .awaitingRequest)
        #expect(mid.headReceived(clientKeepsAlive: true, reachesRequestLimit: false) == .beginRequest(serverCloses: true))
        for state in [Self.closingAfterOutput(), Self.lingering(), Self.closed()] {
            var machine = state
            #expect(machine.closeRequested(isIdle: true) == .none)
            #expect(machine.state == state.state)
        }
    }

    // MARK: Errors

    @Test func aFailedRequestSendsItsErrorPageAndLingers() {
        for start in [Machine(), Self.readingHead(), Self.readingBody(), Self.runningHandler(), Self.awaitingDeferredResponse()] {
            var machine = start
            #expect(machine.requestFailed(responseStarted: false) == .sendErrorPage)
            #expect(machine.state == .closingAfterOutput(.clientMaySend))
            var late = start
            #expect(late.requestFailed(responseStarted: true) == .closeAfterQueuedOutput)
        }
        for start in [Self.closingAfterOutput(), Self.lingering(), Self.closed()] {
            var machine = start
            #expect(machine.requestFailed(responseStarted: false) == .ignore)
            #expect(machine.state == start.state)
        }
    }

    @Test func aHandlerThatThrowsClosesTheConnection() {
        var machine = Self.runningHandler()
        _ = machine.responseDeferred()
        #expect(machine.handlerThrew() == .accepted)
        #expect(machine.handlerReturned() == .checkResponse, "a throw ends a deferred response")
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
        var other = Machine()
        #expect(other.handlerThrew() == .ignored)
    }

    @Test func theHandlerRefusingTheBodyClosesAfterItsAnswer() {
        var machine = Self.readingBody(clientKeepsAlive: false)
        #expect(machine.bodyRefused() == .accepted)
        #expect(machine.state == .closingAfterOutput(.clientMaySend), "the unread body may still come")
        var idle = Machine()
        #expect(idle.bodyRefused() == .ignored)
    }

    @Test func aHeadWhileARequestIsInProgressCloses() {
        for start in [Self.readingBody(), Self.runningHandler(), Self.awaitingDeferredResponse(), Self.closingAfterOutput(),
                      Self.lingering(), Self.closed()] {
            var machine = start
            #expect(machine.headReceived(clientKeepsAlive: true, reachesRequestLimit: false) == .close)
        }
    }

    // MARK: Deferred responses

    @Test func aDeferredResponseHoldsInputUntilItFinishes() {
        var machine = Self.awaitingDeferredResponse()
        #expect(machine.isAwaitingDeferredResponse)
        #expect(machine.inputAvailable(bytesLeft: true) == .holdForHandler)
        #expect(machine.handlerHoldsInput() == .pauseReading)
        #expect(machine.reading == .pausedForHandler)
        #expect(machine.handlerHoldsInput() == .none)
        #expect(machine.responseFinished() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: true))
        #expect(machine.reading == .active)
    }

    @Test func aResponseFinishedInsideTheHandlerEndsWhenItReturns() {
        var machine = Self.runningHandler()
        _ = machine.responseDeferred()
        #expect(machine.responseFinished() == .none)
        #expect(machine.handlerReturned() == .checkResponse)
        for start in [Machine(), Self.readingBody(), Self.closingAfterOutput(), Self.closed()] {
            var other = start
            #expect(other.responseFinished() == .none)
            #expect(other.responseDeferred() == .ignored)
            #expect(other.handlerReturned() == .none)
            #expect(other.responseChecked(handlerCloses: false, isFramed: true) == .ignore)
        }
    }

    @Test func theClientLeavingWhileADeferredResponseIsOpenIsReported() {
        var machine = Self.awaitingDeferredResponse()
        #expect(machine.inputEnded(holdsRequests: false) == .clientLeft(reportStreamEnd: false, informHandler: false))
        #expect(machine.input == .ended)
        var halfClosed = Self.awaitingDeferredResponse()
        #expect(halfClosed.clientHalfClosed(streamMayStillComplete: true) == .clientLeft(reportStreamEnd: false, informHandler: false))
        var idle = Machine()
        #expect(idle.clientHalfClosed(streamMayStillComplete: false) == .none)
    }

    // MARK: Streamed bodies

    @Test func aStreamedBodyFlowsWhileTheResponseIsDeferred() {
        var machine = Self.awaitingDeferredResponse(streaming: true)
        #expect(machine.inputAvailable(bytesLeft: true) == .parse)
        #expect(machine.parserNeedsMore(isMidMessage: true) == .schedule(.body))
        #expect(machine.streamPaused() == .accepted)
        #expect(machine.request?.body == .streaming(.paused))
        #expect(machine.inputAvailable(bytesLeft: true) == .holdForHandler)
        #expect(machine.timedOut(.body, isMidMessage: true) == .none, "a paused stream has no timeout of ours")
        _ = machine.handlerHoldsInput()
        #expect(machine.streamResumed() == .parseHeldInput(resumeReading: true))
        #expect(machine.streamResumed() == .none)
        #expect(machine.bodyEnded() == .reportStreamEnd(complete: true))
        #expect(machine.request?.body == .streamEnded(complete: true))
        #expect(machine.request?.body.reportedEnd == true)
        #expect(machine.responseFinished() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: false))
    }

    @Test func answeringBeforeTheStreamedBodyArrivedCloses() {
        var machine = Self.runningHandler(streaming: true)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: true, resumeReading: false))
    }

    @Test func theClientLeavingAbandonsTheStreamOnce() {
        var machine = Self.awaitingDeferredResponse(streaming: true)
        #expect(machine.clientHalfClosed(streamMayStillComplete: true) == .none)
        #expect(machine.clientHalfClosed(streamMayStillComplete: false) == .clientLeft(reportStreamEnd: true, informHandler: true))
        #expect(machine.request?.body == .streamAbandoned(.flowing))
        #expect(machine.request?.ending == .close)
        #expect(machine.inputEnded(holdsRequests: false) == .clientLeft(reportStreamEnd: false, informHandler: true), "reported once")
        #expect(machine.inputAvailable(bytesLeft: true) == .parse, "what was sent before is still delivered")
        #expect(machine.bodyEnded() == .keepParsing)
        #expect(machine.request?.body == .streamEnded(complete: false))
        #expect(machine.responseFinished() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aMalformedStreamIsRefusedAndClosesTheConnection() {
        var machine = Self.awaitingDeferredResponse(streaming: true)
        #expect(machine.streamMalformed() == .refuse(reportStreamEnd: true))
        #expect(machine.request?.body == .refused)
        #expect(machine.request?.ending == .close)
        #expect(machine.streamMalformed() == .ignore)
        #expect(machine.inputAvailable(bytesLeft: true) == .holdForHandler)
        #expect(machine.responseFinished() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aStreamThatStopsArrivingTimesOut() {
        var machine = Self.awaitingDeferredResponse(streaming: true)
        #expect(machine.timedOut(.body, isMidMessage: true) == .close)
        #expect(machine.closed() == .release(reportStreamEnd: true))
        #expect(machine.closed() == .none)
    }

    @Test func pausingAndResumingOutsideAStreamChangesNothing() {
        for start in [Machine(), Self.readingBody(), Self.runningHandler(), Self.closed()] {
            var machine = start
            #expect(machine.streamPaused() == .ignored)
            #expect(machine.streamResumed() == .none)
            #expect(machine.streamMalformed() == .ignore)
            #expect(machine.state == start.state)
        }
        var running = Self.runningHandler(streaming: true)
        #expect(running.streamPaused() == .accepted)
        #expect(running.streamResumed() == .none, "the handler is running: its return decides")
        #expect(running.request?.body == .streaming(.flowing))
    }

    // MARK: Backpressure

    @Test func outputBackpressurePausesReadingUntilTheOutputDrains() {
        var machine = Machine()
        #expect(machine.outputBacklogged() == .pauseReading)
        #expect(machine.reading == .pausedForOutput)
        #expect(!machine.isBetweenRequests)
        #expect(machine.outputBacklogged() == .none)
        #expect(machine.inputEnded(holdsRequests: true) == .none, "held requests are answered first")
        #expect(machine.outputDrained() == .resumeReading)
        #expect(machine.reading == .active)
        #expect(machine.outputSettled(holdsRequests: false, isMidMessage: false, sendTimeoutArmed: false) == .finishInput)
        var handlerPaused = Self.awaitingDeferredResponse()
        _ = handlerPaused.handlerHoldsInput()
        #expect(handlerPaused.outputBacklogged() == .none)
        #expect(handlerPaused.reading == .pausedForOutput)
    }

    @Test func afterABlockedWriteTheStatesOwnTimeoutResumes() {
        var idle = Machine()
        #expect(idle.outputDrained() == .settle)
        #expect(idle.outputSettled(holdsRequests: false, isMidMessage: false, sendTimeoutArmed: true) == .schedule(.idle))
        #expect(idle.outputSettled(holdsRequests: false, isMidMessage: true, sendTimeoutArmed: true) == .schedule(.head))
        #expect(idle.outputSettled(holdsRequests: false, isMidMessage: false, sendTimeoutArmed: false) == .none)
        var head = Self.readingHead()
        #expect(head.outputSettled(holdsRequests: false, isMidMessage: true, sendTimeoutArmed: true) == .schedule(.head))
        var body = Self.readingBody()
        #expect(body.outputSettled(holdsRequests: false, isMidMessage: true, sendTimeoutArmed: true) == .schedule(.body))
        var running = Self.runningHandler()
        #expect(running.outputDrained() == .none)
        #expect(running.outputSettled(holdsRequests: false, isMidMessage: true, sendTimeoutArmed: true) == .none)
    }

    // MARK: The end of input

    @Test func theEndOfInputIsAnsweredPerState() {
        var idle = Machine()
        #expect(idle.inputEnded(holdsRequests: false) == .finishInput)
        #expect(idle.inputFinished(isMidMessage: false, hasOutput: false) == .close)
        var idleWithOutput = Machine()
        #expect(idleWithOutput.inputFinished(isMidMessage: false, hasOutput: true) == .flush)
        #expect(idleWithOutput.state == .closingAfterOutput(.clientMaySend))
        var partial = Machine()
        #expect(partial.inputFinished(isMidMessage: true, hasOutput: false) == .failIncomplete)
        var head = Self.readingHead()
        #expect(head.inputEnded(holdsRequests: false) == .finishInput)
        #expect(head.inputFinished(isMidMessage: true, hasOutput: false) == .failIncomplete)
        var body = Self.readingBody()
        #expect(body.inputFinished(isMidMessage: false, hasOutput: false) == .failIncomplete)
        var running = Self.runningHandler()
        #expect(running.inputEnded(holdsRequests: false) == .none, "the response in flight is delivered")
        var lingering = Self.lingering()
        #expect(lingering.inputEnded(holdsRequests: false) == .close)
        var closed = Self.closed()
        #expect(closed.inputEnded(holdsRequests: false) == .none)
        for start in [Self.closingAfterOutput(), Self.lingering(), Self.closed()] {
            var machine = start
            #expect(machine.inputFinished(isMidMessage: true, hasOutput: true) == .none)
        }
    }

    // MARK: Timeouts

    @Test func eachTimeoutHasAnAnswerInEveryState() {
        for start in Self.everyState() {
            for kind in TimeoutQueue.Kind.allCases {
                var machine = start
                let action = machine.timedOut(kind, isMidMessage: false)
                let expected: Machine.TimeoutAction
                switch (kind, start.state) {
                case (.send, _), (.linger, _), (.idle, .awaitingRequest):
                    expected = .close
                case (.head, .awaitingRequest), (.head, .readingHead), (.head, .readingBody),
                     (.body, .awaitingRequest), (.body, .readingHead), (.body, .readingBody):
                    expected = .failRequest
                case (.head, .awaitingDeferredResponse(let request)), (.body, .awaitingDeferredResponse(let request)):
                    expected = request.body.isFlowing ? .close : .none
                default:
                    expected = .none
                }
                #expect(action == expected, "\(kind) in \(start.state)")
                #expect(machine == start, "a timeout changes no state")
            }
        }
        var midMessage = Machine()
        #expect(midMessage.timedOut(.idle, isMidMessage: true) == .none)
    }

    // MARK: Events that cannot happen

    @Test func inputInEveryStateHasAnAnswer() {
        let expected: [Machine.InputAction] = [.parse, .parse, .parse, .stop, .holdForHandler, .parse,
                                               .discard, .discard, .discard, .discard]
        for (start, action) in zip(Self.everyState(), expected) {
            var machine = start
            #expect(machine.inputAvailable(bytesLeft: false) == action, "\(start.state)")
        }
    }

    @Test func eventsOutOfPlaceChangeNothing() {
        for start in [Self.closingAfterOutput(), Self.lingering(), Self.closed()] {
            var machine = start
            #expect(machine.bodyEnded() == .keepParsing)
            #expect(machine.streamingChosen() == .ignore)
            #expect(machine.bodyRefused() == .ignored)
            #expect(machine.parserNeedsMore(isMidMessage: true) == .none)
            #expect(machine.handlerReturned() == .none)
            #expect(machine.responseChecked(handlerCloses: false, isFramed: false) == .ignore)
            #expect(machine.clientHalfClosed(streamMayStillComplete: false) == .none)
            #expect(machine.state == start.state)
        }
        var idle = Machine()
        #expect(idle.unreadInputDropped() == .ignored)
        #expect(idle.bodyEnded() == .keepParsing)
        #expect(idle.state == .awaitingRequest)
    }

    @Test func aClosedConnectionStaysClosed() {
        var machine = Self.closed()
        #expect(machine.closed() == .none)
        #expect(machine.outputDrained() == .none)
        #expect(machine.isClosed)
        #expect(!machine.acceptsInput)
    }
}
