/// `ThreadingHTTPServer`: a handler on a worker that reads a streamed body (`wantsStreamingBody()`
/// true) with `rfile.read` / `readline`, which block the worker until the reactor has the bytes.
///
/// The reactor goes on parsing the body while the worker runs (the machine's `streamsToWorker`)
/// and appends it to the request's `WorkerBodyBuffer`; when the buffer is full, the machine's
/// stream is paused and the transport stops reading, until the worker has taken half of it and
/// posts `workerBodyConsumed`. The body's end (complete, or not: a reset, a half-close, a body
/// timeout, a malformed chunk) is told to the buffer, and a waiting read returns. Bytes after the
/// body stay unread (in the socket, or in `pending`) until the worker has returned. Everything else
/// of the request is as for a worker with a buffered body (HTTPConnection+Worker.swift).
extension HTTPConnection {
    /// On the reactor, at dispatch: the body's buffer, and the handler's view of the head built
    /// now, since the reactor's parser goes on changing while the worker runs.
    func startWorkerBody(_ handler: BaseHTTPRequestHandler) {
        _ = handler.requestline
        _ = handler.command
        _ = handler.path
        _ = handler.requestVersion
        _ = handler.headers
        exchange.requestTarget = handler.requestTarget
        workerBody = WorkerBodyBuffer(capacity: context.configuration.workerBodyBufferSize)
    }

    /// On the reactor: streamed body bytes, for the worker, or for `rfile.onData` on the reactor.
    func deliverStreamedBody(_ bytes: UnsafeRawBufferPointer) {
        guard let workerBody else { return exchange.deliver(bytes) }
        if workerBody.append(bytes) { machine.streamPaused() }  // full: reading stops
    }

    /// On the reactor: the streamed body ended, for the worker's reads or `rfile.onEnd`.
    func reportStreamEnd(complete: Bool) {
        if let workerBody {
            workerBody.finish(complete ? .complete : .incomplete)
        } else {
            exchangeStorage?.reportStreamEnd(complete: complete)
        }
    }

    /// On the reactor: the worker took enough of a full buffer; reading goes on.
    func workerBodyConsumed(_ job: WorkerJob) {
        guard workerJob === job, workerBody != nil, !machine.isClosed,
              case .parseHeldInput(let resumesReading) = machine.streamResumed() else { return }
        if resumesReading { transport.resumeReading() }
        if pending.isEmpty {
            // When the pause came with the body's last bytes, only the parser can say it ended.
            _ = process(UnsafeRawBufferPointer(start: nil, count: 0))
        } else {
            processPending()
        }
    }

    /// On the reactor, in `workerFinished`: the buffer is done with. Returns what the worker left
    /// unread (nil: no body was streamed to it).
    func takeWorkerBody() -> [UInt8]? {
        guard let body = workerBody else { return nil }
        workerBody = nil
        return body.takeLeftover()
    }

    /// On the reactor, in `workerFinished`: the handler returned after `deferResponse()`. What it
    /// set for that response goes on as on the reactor: the body it left unread goes to its
    /// `rfile.onData` (then `onEnd`, if the body has ended), a stream its full buffer paused flows
    /// again, and a `whenClientCloses` watch begins (reading resumes to see the client's end).
    func deferredResponseMovedToReactor(_ job: WorkerJob, _ unreadBody: [UInt8]?) {
        guard let exchange = exchangeStorage else { return }
        if let watcher = job.clientCloseWatcher, pending.isEmpty {
            exchange.clientCloseWatcher = watcher
            if machine.clientCloseWatched() { transport.resumeReading() }
        }
        guard let unreadBody else { return }
        if !unreadBody.isEmpty { unreadBody.withUnsafeBytes { exchange.deliver($0) } }
        if exchange.endHandler != nil, let complete = machine.request?.body.reportedEnd {
            exchange.reportStreamEnd(complete: complete)
        }
        // `rfile.pause()` is not heard on a worker: a paused stream was the buffer's doing.
        if machine.request?.body.isStreamIncomplete == true && machine.request?.body.isFlowing == false {
            streamResumed()
        }
    }

    // MARK: The worker

    /// On the worker: `rfile.read(limit)` (`readline` when `stopsAtNewline`) of a streamed body.
    /// Blocks until `limit` bytes (or a line) have arrived, or the body has ended.
    func workerReadsBody(_ body: WorkerBodyBuffer, limit: Int, stopsAtNewline: Bool) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < limit {
            let (more, resumesReactor) = body.take(upTo: limit - result.count, stopsAtNewline: stopsAtNewline, into: &result)
            // Posted before the job's end (same worker, same queue): the job still has its request.
            if resumesReactor, let job = workerJob, let executor = context.workers?.executor {
                executor.execute { [job] in job.connection.workerBodyConsumed(job) }
            }
            if !more { break }
        }
        return result
    }

    /// On the worker: what has arrived, without waiting (for `rfile.onData`).
    func workerTakesArrivedBody(_ body: WorkerBodyBuffer) -> [UInt8] {
        let available = body.unreadCount
        return available == 0 ? [] : workerReadsBody(body, limit: available, stopsAtNewline: false)
    }
}
