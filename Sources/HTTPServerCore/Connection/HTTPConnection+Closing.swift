import HTTPServerHTTP1

/// Timeouts and the end of the connection.
extension HTTPConnection {
    /// Called by the `TimeoutQueue` when this connection's deadline has passed.
    func timedOut(_ kind: TimeoutQueue.Kind) {
        context.metrics?.timedOut(String(describing: kind))
        switch machine.timedOut(kind, isMidMessage: isMidMessage) {
        case .close:
            close()
        case .failRequest:
            failRequest(ParseError(.badRequestLine, status: 408), detail: .timeout)
            flushOutput()
        case .none:
            break
        }
    }

    /// Closes at once: queued output is dropped, files close, buffers go back to the pool.
    func close() {
        guard case .release(let reportsStreamEnd) = machine.closed() else { return }
        context.timeouts.remove(self)
        if parkIndex >= 0 { context.unpark(self) }
        if let workerJob {
            // The worker owns the exchange and the handler until the reactor hears it is done
            // (`workerFinished` releases them); a worker waiting to write goes on at once.
            workerJob.connectionDidClose()
            workerBody?.finish(.incomplete)  // a worker waiting in `rfile.read` goes on at once
            transport.close()
            context.onConnectionClosed?(self)
            return
        }
        if reportsStreamEnd { exchangeStorage?.reportStreamEnd(complete: false) }
        cancelAsyncRequest()
        endStream()
        if let exchange = exchangeStorage {
            exchangeStorage = nil
            pool.give(exchange)  // queued output is dropped, files close
        }
        transport.close()
        if let handler {
            handler.finish()
            handler.detach()
        }
        context.onConnectionClosed?(self)
    }

    /// Begins a graceful close (the server is shutting down): an idle connection closes now; a
    /// busy one after its current response.
    func closeGracefully() {
        let isIdle = !isMidMessage && !holdsInput
        switch machine.closeRequested(isIdle: isIdle) {
        case .closeAfterOutput:
            flushOutput()
        case .informHandler:
            // Python's attribute: the handler's response then says `Connection: close`.
            handler?.closeConnection = true
        case .none:
            break
        }
    }
}
