@testable import HTTPServerCore
import Testing

/// The machine's part in `ThreadingHTTPServer`: a handler on a worker holds the connection's
/// input until the reactor hears that it has returned.
@Suite struct ConnectionStateMachineWorkerTests {
    typealias Machine = ConnectionStateMachine

    static func onWorker(clientKeepsAlive: Bool = true) -> Machine {
        var machine = Machine()
        _ = machine.headReceived(clientKeepsAlive: clientKeepsAlive, reachesRequestLimit: false)
        #expect(machine.bodyEnded() == .dispatch)
        #expect(machine.handlerMovedToWorker() == .pauseReading)
        return machine
    }

    @Test func aHandlerOnAWorkerPausesReadingUntilItsResponseIsChecked() {
        var machine = Self.onWorker()
        #expect(machine.reading == .pausedForHandler)
        #expect(machine.request?.response == .onWorker)
        // Pipelined bytes are not parsed meanwhile.
        #expect(machine.inputAvailable(bytesLeft: true) == .stop)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: true))
        #expect(machine.state == .awaitingRequest)
        #expect(machine.reading == .active)
    }

    @Test func movingToAWorkerOutsideARunningHandlerIsIgnored() {
        for start in [Machine(), ConnectionStateMachineTests.readingBody(), ConnectionStateMachineTests.closed()] {
            var machine = start
            #expect(machine.handlerMovedToWorker() == .none)
            #expect(machine == start)
        }
    }

    @Test func aGracefulCloseLeavesTheWorkersHandlerAloneAndClosesAfterItsResponse() {
        var machine = Self.onWorker()
        // The handler's attributes are the worker's: nothing to tell it.
        #expect(machine.closeRequested(isIdle: false) == .none)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: true))
    }

    @Test func aResetWhileTheWorkerRunsClosesAndItsReturnIsIgnored() {
        var machine = Self.onWorker()
        #expect(machine.closed() == .release(reportStreamEnd: false))
        #expect(machine.handlerReturned() == .none)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .ignore)
    }

    @Test func aHalfCloseWhileTheWorkerRunsStillDeliversTheResponse() {
        var machine = Self.onWorker()
        #expect(machine.inputEnded(holdsRequests: false) == .none)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: true))
        #expect(machine.outputSettled(holdsRequests: false, isMidMessage: false, sendTimeoutArmed: false) == .finishInput)
    }

    @Test func aThrowingWorkerHandlerClosesAfterItsResponse() {
        var machine = Self.onWorker()
        #expect(machine.handlerThrew() == .accepted)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: true))
    }

    @Test func backpressureDuringTheWorkerKeepsReadingPausedUntilTheOutputDrains() {
        var machine = Self.onWorker()
        #expect(machine.outputBacklogged() == .none)
        #expect(machine.reading == .pausedForOutput)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: false))
        #expect(machine.outputDrained() == .resumeReading)
    }

    // MARK: A streamed body read on the worker

    static func streamingOnWorker() -> Machine {
        var machine = ConnectionStateMachineTests.readingBody()
        #expect(machine.streamingChosen() == .dispatch)
        #expect(machine.handlerMovedToWorker() == .none)  // the body goes on arriving
        #expect(machine.isStreamingToWorker)
        return machine
    }

    @Test func aStreamedBodyIsParsedForTheWorkerAndWhatFollowsItIsHeld() {
        var machine = Self.streamingOnWorker()
        #expect(machine.reading == .active)
        #expect(machine.inputAvailable(bytesLeft: true) == .parse)
        #expect(machine.parserNeedsMore(isMidMessage: true) == .schedule(.body))
        #expect(machine.bodyEnded() == .reportStreamEnd(complete: true))
        #expect(machine.request?.body == .streamEnded(complete: true))
        // A pipelined request waits, unparsed, for the worker.
        #expect(machine.inputAvailable(bytesLeft: true) == .holdForHandler)
        #expect(machine.handlerHoldsInput() == .pauseReading)
        #expect(machine.timedOut(.body, isMidMessage: false) == .none)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true) == .awaitNextRequest(resumeReading: true))
    }

    @Test func aFullBufferPausesTheStreamAndTheWorkersReadingResumesIt() {
        var machine = Self.streamingOnWorker()
        #expect(machine.streamPaused() == .accepted)
        #expect(machine.inputAvailable(bytesLeft: false) == .holdForHandler)
        #expect(machine.handlerHoldsInput() == .pauseReading)
        #expect(machine.timedOut(.body, isMidMessage: true) == .none)  // the worker is not reading
        #expect(machine.streamResumed() == .parseHeldInput(resumeReading: true))
        #expect(machine.inputAvailable(bytesLeft: true) == .parse)
        #expect(machine.timedOut(.body, isMidMessage: true) == .close)  // the client stopped sending
    }

    @Test func theWorkersOutputBacklogLeavesReadingToTheBodyBuffer() {
        var machine = Self.streamingOnWorker()
        #expect(machine.outputBacklogged() == .none)
        #expect(machine.reading == .active)
    }

    @Test func aHalfCloseMidBodyEndsTheWorkersStreamIncompleteAndClosesAfterTheResponse() {
        var machine = Self.streamingOnWorker()
        #expect(machine.inputEnded(holdsRequests: false) == .clientLeft(reportStreamEnd: true, informHandler: true))
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aMalformedBodyOnTheWorkerIsRefusedAndTheConnectionClosesAfterTheResponse() {
        var machine = Self.streamingOnWorker()
        #expect(machine.streamMalformed() == .refuse(reportStreamEnd: true))
        #expect(machine.inputAvailable(bytesLeft: true) == .holdForHandler)
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: false, resumeReading: false))
    }

    @Test func aWorkerThatReturnsBeforeTheBodyEndedClosesAfterItsResponse() {
        var machine = Self.streamingOnWorker()
        #expect(machine.handlerReturned() == .checkResponse)
        #expect(machine.responseChecked(handlerCloses: false, isFramed: true)
            == .closeAfterOutput(reportStreamEnd: true, resumeReading: false))
    }

    @Test func aWatchForTheClientsCloseFromAWorkerResumesReadingOnceTheResponseIsDeferred() {
        var machine = Self.onWorker()
        #expect(machine.clientCloseWatched() == false)  // the worker still runs
        #expect(machine.responseDeferred() == .accepted)
        #expect(machine.handlerReturned() == .awaitDeferredResponse(holdsInput: true))
        #expect(machine.reading == .pausedForHandler)
        #expect(machine.clientCloseWatched() == true)
        #expect(machine.reading == .active)
        #expect(machine.inputEnded(holdsRequests: false) == .clientLeft(reportStreamEnd: false, informHandler: false))
    }
}
