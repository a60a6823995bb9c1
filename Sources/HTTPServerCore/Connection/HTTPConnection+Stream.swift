/// A `ResponseStream`'s reactor side: what any thread writes arrives here in batches.
extension HTTPConnection {
    /// The handler made a stream (on the reactor, or on its worker: then the reactor attaches it
    /// when the worker returns).
    func attachStream(_ stream: ResponseStream) {
        if let workerJob {
            workerJob.stream = stream
            return
        }
        guard let exchange = exchangeStorage, !machine.isClosed else {
            stream.ended()
            return
        }
        exchange.stream?.ended()
        exchange.stream = stream
        stream.connection = self
        if exchange.clientCloseWatcher == nil {
            // A client that half-closes will not read the stream: like nginx, take it as gone.
            exchange.clientCloseWatcher = { [unowned self] in close() }
        }
    }

    /// On the reactor: bytes written to `stream` since the last delivery, and whether it was
    /// finished or aborted meanwhile.
    func streamDelivered(_ stream: ResponseStream, _ bytes: [UInt8], finishes: Bool, aborts: Bool) {
        guard let exchange = exchangeStorage, exchange.stream === stream, !machine.isClosed else {
            stream.ended()
            return
        }
        if aborts {
            close()
            return
        }
        if !bytes.isEmpty { writeBody(bytes) }
        if finishes {
            exchange.stream = nil
            stream.ended()
            deferredResponseFinished()
            return
        }
        flushOutput()
        if let exchange = exchangeStorage, exchange.stream === stream {
            stream.connectionHolds(unsent: exchange.output.count)
        }
    }

    /// On the reactor, after a write: the stream learns how much is left.
    func streamWrote() {
        guard let exchange = exchangeStorage, let stream = exchange.stream else { return }
        stream.connectionHolds(unsent: exchange.output.count)
    }

    /// The response or the connection ended: the stream's writes are refused from now on.
    func endStream() {
        guard let exchange = exchangeStorage, let stream = exchange.stream else { return }
        exchange.stream = nil
        stream.ended()
    }
}
