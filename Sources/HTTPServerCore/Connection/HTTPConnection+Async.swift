/// An `AsyncHTTPRequestHandler`'s request: a task on the connection's executor (its reactor).
///
/// The task starts inside `dispatchAsync`, on the reactor thread, and runs at once up to its first
/// suspension (`runningJobsInline`). If it returns without suspending, the request ends as a
/// synchronous handler's does. If it suspends, the machine is told the response is deferred (as
/// for `deferResponse()`), and the task's end finishes it (`asyncHandlerFinished`). A connection
/// that closes cancels the task; so does a client that half-closes while it runs.
extension HTTPConnection {
    func dispatchAsync(_ handler: AsyncHTTPRequestHandler) {
        let run = AsyncRequestRun(connection: self)
        exchange.asyncRun = run
        let executor = context.executor
        let task = HandlerBox(handler)
        executor.runningJobsInline {
            run.task = Task(executorPreference: executor) {
                var failure: (any Error)?
                do {
                    try await task.handler.handleOneRequest()
                } catch {
                    failure = error
                }
                run.finished(failure)
            }
        }
        run.isStarting = false
        if run.isFinished {
            run.connection = nil
            exchangeStorage?.asyncRun = nil
            if let error = run.error {
                machine.handlerThrew()
                handlerThrew(error, handler)
            }
        } else if !machine.isClosed {
            // The task answers when it returns, unless the handler deferred the response itself.
            if !run.handlerDefers { machine.responseDeferred() }
            if exchange.clientCloseWatcher == nil {
                exchange.clientCloseWatcher = { run.task?.cancel() }
            }
        }
        switch machine.handlerReturned() {
        case .checkResponse:
            completeRequest(handler)
        case .awaitDeferredResponse(let holdsInput):
            if holdsInput && exchange.clientCloseWatcher == nil { holdInputForHandler() }
            flushOutput()
        case .none:
            break
        }
    }

    /// On the reactor: the task of a request that suspended has returned (or thrown).
    func asyncHandlerFinished(_ run: AsyncRequestRun) {
        run.connection = nil
        guard let exchange = exchangeStorage, exchange.asyncRun === run else { return }  // closed meanwhile
        exchange.asyncRun = nil
        if exchange.clientCloseWatcher != nil && !run.handlerDefers { exchange.clientCloseWatcher = nil }
        guard !machine.isClosed, let handler else { return }
        if run.task?.isCancelled == true {
            close()
            return
        }
        if let error = run.error {
            context.handleError(error, handler.clientSocketAddress)
            guard !response.hasFinalStatus && !response.wroteRawBytes else {
                close()  // part of the response has gone: only closing tells the client
                return
            }
            if let mark = response.headMark { output.rollBack(to: mark, pool: pool) }
            response = ResponseFraming()
            handler.sendError(500)
        } else if run.handlerDefers {
            flushOutput()  // the handler finishes later (`finishResponse()`, a `ResponseStream`)
            return
        }
        deferredResponseFinished()
    }

    /// Ends an async request's task: the connection closed.
    func cancelAsyncRequest() {
        guard let run = exchangeStorage?.asyncRun else { return }
        exchangeStorage?.asyncRun = nil
        run.connection = nil
        run.task?.cancel()
    }
}

/// The reactor's record of one async request. Used on the reactor only (the task runs there too).
final class AsyncRequestRun: @unchecked Sendable {
    /// Strong, as a worker job's: the connection stays allocated until the task's end has been
    /// heard or the connection has closed; both clear it. (A weak reference would give the
    /// connection a side table, and every retain and release of it the slow path: +2,000
    /// instructions per request, callgrind.)
    var connection: HTTPConnection?
    var task: Task<Void, Never>?
    /// Inside `dispatchAsync`, before the task's first suspension.
    var isStarting = true
    var isFinished = false
    var error: (any Error)?
    /// The handler called `deferResponse()` (a `ResponseStream`, a `finishResponse()` to come)
    /// and not `finishResponse()` since: the task's end does not end the response.
    var handlerDefers = false

    init(connection: HTTPConnection) {
        self.connection = connection
    }

    /// The task's last step, on the reactor.
    func finished(_ error: (any Error)?) {
        isFinished = true
        self.error = error
        if !isStarting { connection?.asyncHandlerFinished(self) }
    }
}

/// The handler, carried into its task: the task runs only on the handler's reactor.
private struct HandlerBox: @unchecked Sendable {
    let handler: AsyncHTTPRequestHandler
    init(_ handler: AsyncHTTPRequestHandler) { self.handler = handler }
}
