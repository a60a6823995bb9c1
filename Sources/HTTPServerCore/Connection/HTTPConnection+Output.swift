import HTTPServerReactor

/// Output: the handler's response queued, written with as few system calls as possible, and what
/// happens when it has all been written.
extension HTTPConnection {
    var outputCount: Int { exchangeStorage?.output.count ?? 0 }

    // The handler's writes test `workerJob == nil`, pass `pool` itself and leave the worker's
    // case to a function of its own (HTTPConnection+Worker.swift): a computed pool is retained and
    // released at every write (+336 instructions per keep-alive request), and a second inlined
    // append keeps these from being inlined (+215).

    func writeHead(_ bytes: UnsafeRawBufferPointer) {
        if workerJob != nil { return workerWriteHead(bytes) }
        withOutput { $0.append(bytes, pool: pool) }
    }

    func writeHeaderLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        if workerJob != nil { return workerWriteHeaderLine(name, value) }
        withOutput { $0.appendHeaderLine(name, value, pool: pool) }
    }

    /// The exchange's output queue, for an append: the connection holds the exchange throughout
    /// (an append calls nothing that could let it go), so it is borrowed without being retained.
    // callgrind: −261 instructions per keep-alive request (7,376 → 7,115 for the head's writes)
    @inline(__always)
    private func withOutput(_ body: (inout OutputQueue) -> Void) {
        Unmanaged.passUnretained(exchange)._withUnsafeGuaranteedRef { body(&$0.output) }
    }

    func markHead() -> OutputQueue.Mark { output.mark() }

    /// A header line of the response head: its framing noted, then (unless HTTP/0.9) queued.
    /// Returns what a `Connection` header asks for.
    func writeResponseHeader(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                             writesLine: Bool) -> ResponseFraming.ConnectionOption? {
        let option = response.noteHeader(name, value)
        guard writesLine else { return option }
        if response.headMark == nil { response.headMark = markHead() }
        writeHeaderLine(name, value)
        return option
    }

    func writeBody(_ bytes: [UInt8]) {
        guard response.admitBody(bytes.count) else { return }
        let allowed = response.clampBody(bytes.count)
        if workerJob != nil { return workerWrites(bytes, allowed) }
        if allowed == bytes.count {
            withOutput { $0.append(bytes, pool: pool) }
        } else {
            bytes.withUnsafeBytes { raw in withOutput { $0.append(UnsafeRawBufferPointer(rebasing: raw[0..<allowed]), pool: pool) } }
        }
        if machine.isAwaitingDeferredResponse { flushOutput() }
    }

    func writeBody(_ bytes: UnsafeRawBufferPointer) {
        guard response.admitBody(bytes.count) else { return }
        let allowed = response.clampBody(bytes.count)
        if workerJob != nil { return workerWrites(UnsafeRawBufferPointer(rebasing: bytes[0..<allowed])) }
        withOutput { $0.append(UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]), pool: pool) }
        if machine.isAwaitingDeferredResponse { flushOutput() }
    }

    func writeBody(file: FileRegion) {
        guard response.admitBody(file.range.count) else { return }
        let allowed = response.clampBody(file.range.count)
        file.range = file.range.lowerBound..<(file.range.lowerBound + allowed)
        output.append(file: file)
        if workerJob != nil { workerWrote() } else if machine.isAwaitingDeferredResponse { flushOutput() }
    }

    /// Writes what is queued. Called once per read wake-up (after all pipelined requests of the read
    /// were handled), when a handler flushes, and when the socket becomes writable again.
    func flushOutput() {
        guard !machine.isClosed else { return }
        // A worker is writing into the queue: it is handed over at its flush or return.
        if workerJob != nil && !workerJob.unsafelyUnwrapped.reactorHoldsOutput { return }
        if let exchange = exchangeStorage, !exchange.output.isEmpty {
            // The connection closes once this is out: the FIN can leave with the last bytes.
            if machine.outputEndsStream { transport.outputEndsStream() }
            let done: Bool
            do {
                done = try output.flush(to: transport, pool: pool)
            } catch {
                close()
                return
            }
            if !done {
                transport.awaitWritable()
                context.timeouts.schedule(self, .send)
                if output.count > context.configuration.outputHighWatermark,
                   machine.outputBacklogged() == .pauseReading {
                    transport.pauseReading()
                }
                return
            }
        }
        // Everything is written.
        if let exchange = exchangeStorage, !exchange.drainWaiters.isEmpty {
            let waiters = exchange.drainWaiters
            exchange.drainWaiters = []
            for waiter in waiters { waiter() }
            guard output.isEmpty, !machine.isClosed else { return }
        }
        switch machine.outputDrained() {
        case .close:
            close()
        case .linger(let resumesReading):
            // RFC 9112 §9.6: closing at once while the client may still be sending would reset the
            // connection and can destroy the response in flight; shut the write side first, then
            // read and discard until the client closes (or a short timeout).
            transport.shutdownWrite()
            if resumesReading { transport.resumeReading() }
            context.timeouts.schedule(self, .linger)
        case .resumeReading:
            transport.resumeReading()
            if !pending.isEmpty { processPending() }
            settleAfterDrain()
        case .settle:
            settleAfterDrain()
        case .none:
            break
        }
    }

    /// After a drain, and the held requests it let through.
    private func settleAfterDrain() {
        let sendTimeoutArmed = timeoutKind == TimeoutQueue.Kind.send.rawValue
        switch machine.outputSettled(holdsRequests: holdsInput, isMidMessage: isMidMessage,
                                     sendTimeoutArmed: sendTimeoutArmed) {
        case .finishInput:
            finishInput()
        case .schedule(let kind):
            context.timeouts.schedule(self, kind)
        case .none:
            break
        }
    }

    /// Calls `waiter` once all queued output has been written (at once if nothing is queued).
    func whenDrained(_ waiter: @escaping () -> Void) {
        if let workerJob {
            // On a worker: written (or closed) as far as a blocking socket would say.
            flushFromWorker(workerJob)
            waiter()
            return
        }
        guard !machine.isClosed else { return }
        if output.isEmpty {
            waiter()
        } else {
            // Appended outside the access, so that no exclusivity check spans the array's growth.
            var waiters = exchange.drainWaiters
            exchange.drainWaiters = []
            waiters.append(waiter)
            exchange.drainWaiters = waiters
        }
    }
}
