/// `ThreadingHTTPServer`: a request's handler on a worker thread, and the reactor's side of it.
///
/// The reactor dispatches as usual (`bodyEnded` → `dispatch`), then hands the request to the
/// pool instead of calling the handler: the head's bytes are copied out of the read buffer,
/// earlier responses are written, and the connection stops reading (`handlerMovedToWorker`), so
/// that nothing of the exchange changes under the worker. The worker runs `handleOneRequest()`;
/// what the handler writes is queued in the exchange's output with the worker's own buffers.
/// The reactor hears of the worker twice at most: when it flushes or fills the queue past the
/// high-water mark (`workerAwaitsRoom`: the reactor writes, and lets the worker go on once the
/// queue is below the mark), and when it returns (`workerFinished`: the usual response check,
/// then the next request).
extension HTTPConnection {
    /// Hands the request to a worker; the machine is in `.runningHandler`.
    func dispatchToWorker(_ handler: BaseHTTPRequestHandler) {
        guard let workers = context.workers else { return }
        // The head's ranges must outlive the read they were parsed in; earlier pipelined
        // responses leave now rather than after this one.
        if case .inReadBuffer = exchange.head { saveHead() }
        flushOutput()
        guard !machine.isClosed else { return }
        if machine.request?.body != .buffered { startWorkerBody(handler) }
        if machine.handlerMovedToWorker() == .pauseReading { transport.pauseReading() }
        let job = workers.makeJob(connection: self, handler: handler, endsAfterCurrentRequest: endsAfterCurrentRequest,
                                  buffers: pool)
        workerJob = job
        workers.submit(job)
    }

    /// On the reactor: the worker's handler has returned.
    func workerFinished(_ job: WorkerJob) {
        context.workers?.jobFinished()
        workerJob = nil
        let unreadBody = takeWorkerBody()
        let handler = job.handler
        for line in job.logLines { context.log.write(line) }
        if machine.isClosed {
            job.stream?.ended()
            // Closed while the worker ran: `close()` left the exchange and the handler to it.
            if let exchange = exchangeStorage {
                exchangeStorage = nil
                pool.give(exchange)
            }
            handler.finish()
            handler.detach()
            return
        }
        if job.aborts {
            close()
            return
        }
        if job.defersResponse { machine.responseDeferred() }
        if let stream = job.stream {
            attachStream(stream)
            stream.deliver()  // what was written while the worker ran
        }
        if let error = job.error {
            machine.handlerThrew()
            handlerThrew(error, handler)
        }
        switch machine.handlerReturned() {
        case .checkResponse:
            completeRequest(handler)
        case .awaitDeferredResponse(let holdsInput):
            if holdsInput && exchange.clientCloseWatcher == nil { holdInputForHandler() }
        case .none:
            break
        }
        // Callbacks the handler left for its deferred response carry on here, on the reactor.
        if machine.isAwaitingDeferredResponse { deferredResponseMovedToReactor(job, unreadBody) }
        // The next pipelined request, if it is here; then what is queued goes out.
        processPending()
        releaseExchangeIfIdle()
    }

    /// The buffers the handler's output is copied into: the reactor's, or its worker thread's.
    var outputBuffers: BufferPool { workerJob?.buffers ?? pool }

    /// On the worker: part of the response head.
    @inline(never)
    func workerWriteHead(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes, pool: outputBuffers)
    }

    /// On the worker: a header line.
    @inline(never)
    func workerWriteHeaderLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        output.appendHeaderLine(name, value, pool: outputBuffers)
    }

    /// On the worker: `wfile.write` of `bytes`.
    @inline(never)
    func workerWrites(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes, pool: outputBuffers)
        workerWrote()
    }

    /// On the worker: `wfile.write` of `bytes`, of which `allowed` fit the response.
    @inline(never)
    func workerWrites(_ bytes: [UInt8], _ allowed: Int) {
        if allowed == bytes.count {
            output.append(bytes, pool: outputBuffers)
        } else {
            bytes.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[0..<allowed]), pool: outputBuffers) }
        }
        workerWrote()
    }

    /// On the worker: the handler wrote; past the high-water mark it waits for the client.
    func workerWrote() {
        guard let job = workerJob, output.count > context.configuration.outputHighWatermark else { return }
        flushFromWorker(job)
    }

    /// On the worker: `flush()`. Waits until the reactor has written the queue below the
    /// high-water mark; on a closed connection, what is queued is dropped.
    func flushFromWorker(_ job: WorkerJob) {
        if !job.awaitRoom() { output.discard(pool: outputBuffers) }
    }

    /// The handler's `flush()` / `flushHeaders()`, wherever it runs.
    func flushFromHandler() {
        if let workerJob { flushFromWorker(workerJob) } else { flushOutput() }
    }

    /// `abortConnection()`, wherever the handler runs.
    func abortFromHandler() {
        if let workerJob { workerJob.aborts = true } else { close() }
    }

    /// On the reactor: the worker waits for room; the queue is the reactor's until it has.
    func workerAwaitsRoom(_ job: WorkerJob) {
        guard workerJob === job, !machine.isClosed else { return }  // closed: the worker went on
        job.reactorHoldsOutput = true
        flushOutput()
        releaseWorkerIfRoom()
    }

    /// After a write on the reactor: lets a waiting worker go on once the queue is below the mark.
    func releaseWorkerIfRoom() {
        guard let job = workerJob, job.reactorHoldsOutput, !machine.isClosed,
              output.count <= context.configuration.outputHighWatermark else { return }
        job.roomMade()
    }
}
