/// Deadlines: what each timeout means in each state (`TimeoutQueue` watches them).
extension ConnectionStateMachine {
    /// A deadline passed.
    mutating func timedOut(_ kind: TimeoutQueue.Kind, isMidMessage: Bool) -> TimeoutAction {
        switch kind {
        case .send, .linger:
            // The client stopped reading what we send, or did not close after our last response.
            return .close
        case .idle:
            return state == .awaitingRequest && !isMidMessage ? .close : .none
        case .head, .body:
            switch state {
            case .awaitingRequest, .readingHead, .readingBody:
                return .failRequest
            case .awaitingDeferredResponse(let request):
                // A streamed body that stopped arriving; a deferred response has no timeout of ours.
                return request.body.isFlowing ? .close : .none
            case .runningHandler(let request) where request.streamsToWorker:
                // The worker waits in `rfile.read` for a body that stopped arriving.
                return request.body.isFlowing ? .close : .none
            case .runningHandler, .closingAfterOutput, .lingering, .closed:
                return .none
            }
        }
    }
}
