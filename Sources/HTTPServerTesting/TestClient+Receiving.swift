import HTTPServerReactor

extension TestClient {
    // MARK: Receiving

    /// The responses completed since the last call that returned responses (e.g. after
    /// `clock.advance(by:)` or `transport.resumeReading(_:)`). Over loopback it waits for the
    /// responses the requests sent can expect (see the type's notes).
    public func collect() throws -> [TestResponse] {
        switch peer {
        case .fake(let transport):
            received += transport.takeWritten()
            try readResponses(atEOF: transport.isClosed || transport.isWriteShutdown)
        case .socket(let socket):
            try waitForResponses(socket)
        }
        defer { unreturned = [] }
        return unreturned
    }

    /// Every byte the server has written to this connection.
    public var receivedBytes: [UInt8] {
        switch peer {
        case .fake(let transport):
            return transport.written
        case .socket(let socket):
            socket.drain()
            return everything + socket.untaken
        }
    }

    /// Bytes the server wrote that are not (yet) part of a complete final response: interim
    /// responses, a response still arriving, or bytes that are no response.
    public var unparsedBytes: [UInt8] {
        switch peer {
        case .fake(let transport):
            return received + transport.written.suffix(transport.untakenCount)
        case .socket(let socket):
            socket.drain()
            return received + socket.untaken
        }
    }

    /// True when the server has closed the connection (fully, or its write side): it will send
    /// nothing more.
    ///
    /// Over loopback: the client reads the end of the stream, waiting for it up to ``quietPeriod``
    /// (a server closes right after its last response, but that close is a packet of its own).
    public var isClosedByServer: Bool {
        switch peer {
        case .fake(let transport):
            return transport.isClosed || transport.isWriteShutdown
        case .socket:
            return isClosedByServer(waitingUpTo: quietPeriod)
        }
    }

    /// Whether the server has closed; over loopback waits up to `wait` for the end of the stream.
    func isClosedByServer(waitingUpTo wait: Duration) -> Bool {
        switch peer {
        case .fake(let transport):
            return transport.isClosed || transport.isWriteShutdown
        case .socket(let socket):
            let deadline = Instant.now().advanced(by: wait)
            socket.drain()
            while !socket.isAtEOF && !socket.isReadingStopped && Instant.now() < deadline {
                socket.waitReadable(until: deadline)
                socket.drain()
            }
            return socket.isAtEOF
        }
    }

    private func readResponses(atEOF: Bool) throws {
        let requests = tracker.requests
        let base = responses.count
        let outcome = ResponseReader.read(received, atEOF: atEOF) { index in
            ResponseReader.expectation(for: base + index < requests.count ? requests[base + index] : nil)
        }
        received.removeFirst(outcome.consumed)
        responses += outcome.responses
        unreturned += outcome.responses
        pendingInterim = outcome.pendingInterim
        if let failure = outcome.failure { throw failure }
    }

    /// What a loopback client still waits for.
    enum Expectation {
        /// Nothing: every request sent has its answer.
        case nothing
        /// A response (or the end of the stream) that must come.
        case more
        /// Perhaps a response: wait for a quiet period.
        case perhaps
    }

    private var expectation: Expectation {
        if didEndInput || tracker.hasFailed { return .more }  // the server closes: wait for it
        if tracker.completeCount > responses.count { return .more }
        if let last = responses.last, last.saysClose { return .more }  // the end of the stream follows
        let interimBytes = pendingInterim.reduce(0) { $0 + $1.raw.count }
        if received.count > interimBytes { return .more }  // a response is arriving
        if !responses.isEmpty, responses.count <= tracker.requests.count,
           !tracker.requests[responses.count - 1].isKeepAlive {
            // Closes unless the handler kept the connection open (Python lets it).
            return .perhaps
        }
        if tracker.isSendingBody {
            // After `Expect: 100-continue`, the interim response is what was waited for.
            if tracker.requests.last?.expectsContinue == true && !pendingInterim.isEmpty { return .nothing }
            return .perhaps
        }
        return .nothing
    }

    private func waitForResponses(_ socket: LoopbackSocket) throws {
        let deadline = Instant.now().advanced(by: responseTimeout)
        var quietUntil: Instant?
        while true {
            socket.drain()
            let new = socket.take()
            everything += new
            received += new
            try readResponses(atEOF: socket.isAtEOF)
            if socket.isAtEOF || socket.isReadingStopped { return }
            let now = Instant.now()
            switch expectation {
            case .nothing:
                return
            case .more:
                if now >= deadline { return }
                socket.waitReadable(until: deadline)
            case .perhaps:
                if quietUntil == nil || !new.isEmpty { quietUntil = min(deadline, now.advanced(by: quietPeriod)) }
                guard let until = quietUntil, now < until else { return }
                socket.waitReadable(until: until)
            }
        }
    }
}
