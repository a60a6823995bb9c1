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
}
