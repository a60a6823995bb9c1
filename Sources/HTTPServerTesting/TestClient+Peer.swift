import HTTPServerKit
import HTTPServerReactor

extension TestClient {
    // MARK: Playing the peer

    /// The client half-closes (`shutdown(SHUT_WR)`): the server reads the end of the stream. Returns
    /// the responses completed since (a server answers the requests it has, then closes).
    @discardableResult
    public func sendEndOfInput() throws -> [TestResponse] {
        switch peer {
        case .fake(let transport):
            transport.sendEndOfInput()
        case .socket(let socket):
            socket.shutdownWrite()
        }
        didEndInput = true
        return try collect()
    }

    /// The client resets the connection (a close with unread data, or `SO_LINGER` 0): the server's
    /// next read fails with `ECONNRESET`. Nothing more can be sent.
    public func reset() {
        switch peer {
        case .fake(let transport):
            transport.reset()
        case .socket(let socket):
            socket.reset()
        }
        didReset = true
    }

    /// The client stops reading. In memory, the server may write `bytes` more; then its writes
    /// return `wouldBlock` (a short write first, when a write straddles the limit), it waits for
    /// the socket to become writable, and past its high-water mark it stops reading.
    ///
    /// Over loopback the client just stops reading; the server sees `EAGAIN` only once the kernel's
    /// buffers are full, so a byte count cannot be honoured: a non-zero `bytes` throws
    /// ``TestClientError/Kind/unsupportedInLoopback``.
    public func stopReading(after bytes: Int = 0) throws {
        switch peer {
        case .fake(let transport):
            transport.stopReading(after: bytes)
        case .socket(let socket):
            guard bytes == 0 else { throw Self.unsupported("stopReading(after: \(bytes))") }
            socket.isReadingStopped = true
        }
    }

    /// The client reads again: `bytes` more (nil: without limit). The server hears it can write,
    /// and the responses completed meanwhile are returned.
    ///
    /// Over loopback only `nil` is supported (the client reads everything).
    @discardableResult
    public func resumeReading(_ bytes: Int? = nil) throws -> [TestResponse] {
        switch peer {
        case .fake(let transport):
            transport.resumeReading(bytes)
        case .socket(let socket):
            guard bytes == nil else { throw Self.unsupported("resumeReading(\(bytes ?? 0))") }
            socket.isReadingStopped = false
        }
        return try collect()
    }

    // MARK: Time

    /// Moves the server's virtual time forward by `duration`, firing the timeouts that come due
    /// (head, body, idle, send, linger), and returns the responses completed meanwhile (a 408).
    ///
    /// Over loopback time is real: throws ``TestClientError/Kind/unsupportedInLoopback``.
    @discardableResult
    public func advanceTime(by duration: Duration) throws -> [TestResponse] {
        guard case .fake = peer else { throw Self.unsupported("advanceTime(by:)") }
        clock.advance(by: duration)
        return try collect()
    }

    // MARK: The server's side

    /// What the server did to its side of this connection: closed it, shut its write side, paused
    /// reading, bytes queued.
    ///
    /// Over loopback the server's side cannot be seen: throws
    /// ``TestClientError/Kind/unsupportedInLoopback`` (``isClosedByServer`` works).
    public func serverState() throws -> ServerConnectionState {
        guard case .fake(let transport) = peer else { throw Self.unsupported("serverState()") }
        return ServerConnectionState(
            isClosed: transport.isClosed, isWriteShutdown: transport.isWriteShutdown,
            isReadingPaused: transport.isReadingPaused, isAwaitingWritable: transport.isAwaitingWritable,
            queuedOutputBytes: server.queuedOutputCount(over: transport), heldInputBytes: transport.heldInput.count,
            writeCalls: transport.writeCallCount)
    }

    static func unsupported(_ call: String) -> TestClientError {
        TestClientError(.unsupportedInLoopback, "\(call) needs the in-memory transport; this client runs over loopback")
    }
}
