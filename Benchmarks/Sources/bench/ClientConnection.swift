// One client connection of `bench`: writes a batch of `depth` requests, reads and checks the
// `depth` responses, and starts over; reconnects after `Connection: close` or an error.
import BenchClient
import HTTPServerReactor

final class ClientConnection: TransportDelegate {
    unowned let driver: LoadDriver
    var transport: SocketTransport?
    var parser = ResponseParser()
    /// Responses still owed for the batch in flight.
    var outstanding = 0
    /// When the batch went out (loop time), for latency and the timeout sweep.
    var sentAt = Instant(nanoseconds: 0)
    /// Bytes of the current write not yet taken by the socket.
    var pending: [UInt8] = []
    var pendingOffset = 0
    /// Expect: 100-continue: the body waits for `100 Continue` (or the continue timeout).
    var bodyHeld = false
    var closing = false

    init(driver: LoadDriver) {
        self.driver = driver
    }

    /// Connects and sends the first batch. Connect failures are counted and retried by the sweep.
    func connect() {
        do throws(SystemError) {
            let t = try SocketTransport.connect(loop: driver.loop, to: driver.address)
            t.delegate = self
            try t.start()
            transport = t
            parser.reset()
            closing = false
            driver.stats.connects += 1
            sendBatch()
        } catch {
            driver.count(error: "connect")
            transport = nil
        }
    }

    func sendBatch() {
        guard driver.isRunning, let transport else { return }
        outstanding = driver.depth
        sentAt = driver.loop.now
        parser.expectNoBody = driver.template.expectsNoResponseBody
        if driver.template.expectContinue {
            bodyHeld = true
            write(driver.headBytes, on: transport)
        } else {
            write(driver.batchBytes, on: transport)
        }
    }

    func releaseBody() {
        guard bodyHeld, let transport else { return }
        bodyHeld = false
        write(driver.template.body, on: transport)
    }

    func write(_ bytes: [UInt8], on transport: SocketTransport) {
        if pendingOffset < pending.count {
            pending += bytes  // rare: the previous write is still draining
            return
        }
        let attempt = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) in try transport.write(raw) }
        }
        guard case .success(let result) = attempt else {
            fail("write")
            return
        }
        switch result {
        case .processed(let n) where n == bytes.count:
            return
        case .processed(let n):
            pending = bytes
            pendingOffset = n
        case .wouldBlock:
            pending = bytes
            pendingOffset = 0
        }
        transport.awaitWritable()
    }

    func transportWritable() {
        guard let transport, pendingOffset < pending.count else { return }
        let offset = pendingOffset
        let attempt = pending.withUnsafeBytes { raw in
            Result { () throws(SystemError) in try transport.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
        }
        guard case .success(let result) = attempt else {
            fail("write")
            return
        }
        if case .processed(let n) = result { pendingOffset += n }
        if pendingOffset < pending.count {
            transport.awaitWritable()
        } else {
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
    }

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        if driver.isMeasuring { driver.stats.bytesRead += bytes.count }
        var start = 0
        while start < bytes.count {
            let event: ResponseEvent
            do throws(ResponseParseError) {
                event = try parser.parse(bytes, from: start)
            } catch {
                fail("parse")
                return
            }
            switch event {
            case .needMore:
                return
            case .informational(let status, let consumed):
                start = consumed
                if driver.isMeasuring { driver.stats.informational += 1 }
                if status == 100 { releaseBody() }
            case .response(let summary, let consumed):
                start = consumed
                if !responseDone(summary) { return }
            }
        }
    }

    /// Checks and counts one final response. Returns false when the connection is gone.
    func responseDone(_ r: ResponseSummary) -> Bool {
        // RFC 9110 §10.1.1: a final status before 100 Continue; send the body anyway so that a
        // server which reads and discards it stays in step (unless it is closing).
        if bodyHeld && !r.closes { releaseBody() }
        bodyHeld = false
        let ok = driver.check(r, latency: driver.loop.now.nanoseconds - sentAt.nanoseconds)
        outstanding -= 1
        if !ok {
            reconnect()
            return false
        }
        if r.closes || driver.template.connectionClose {
            if outstanding > 0 { driver.count(error: "closed") }
            reconnect()
            return false
        }
        if outstanding == 0 { sendBatch() }
        return true
    }

    func endOfInput() {
        if let r = parser.endOfInput() {
            _ = responseDone(r)  // body framed by the close; responseDone reconnects
            return
        }
        if outstanding > 0 || parser.isMidResponse {
            driver.count(error: "closed")
        }
        reconnect()
    }

    func transportFailed(_ error: SystemError) {
        fail("read")
    }

    func fail(_ kind: String) {
        driver.count(error: kind)
        reconnect()
    }

    /// Closes and, while the run goes on, opens a fresh connection.
    func reconnect() {
        close()
        if driver.isRunning { connect() }
    }

    func close() {
        outstanding = 0
        bodyHeld = false
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        if let t = transport {
            transport = nil
            t.close()
        }
    }

    /// Called by the driver's sweep: a batch older than the timeout is abandoned; a missing
    /// connection (connect failed) is retried; a held body past the continue delay is sent.
    func sweep(now: Instant) {
        guard driver.isRunning else { return }
        guard transport != nil else { connect(); return }
        let age = now.nanoseconds - sentAt.nanoseconds
        if bodyHeld && age >= driver.continueDelayNanoseconds { releaseBody() }
        if outstanding > 0 && age >= driver.timeoutNanoseconds {
            driver.count(error: "timeout", by: outstanding)
            reconnect()
        }
    }
}
