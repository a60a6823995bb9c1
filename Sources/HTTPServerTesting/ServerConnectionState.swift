/// What the server did to its side of an in-memory connection, read from the fake socket.
///
/// ```swift
/// try client.stopReading()
/// _ = try client.sendRaw(String(repeating: "GET /big HTTP/1.1\r\n\r\n", count: 10))
/// let state = try client.serverState()
/// #expect(state.isReadingPaused && state.queuedOutputBytes > 0)
/// ```
public struct ServerConnectionState: Sendable, Equatable, CustomStringConvertible {
    /// The server closed the connection.
    public var isClosed: Bool
    /// The server shut its write side: it has nothing more to send, and reads until the client
    /// closes (a lingering close).
    public var isWriteShutdown: Bool
    /// The server stopped reading (too much output queued, or a handler not ready for more input).
    public var isReadingPaused: Bool
    /// The server's last write returned `wouldBlock` and it waits to hear that it can write again.
    public var isAwaitingWritable: Bool
    /// Bytes the server has queued and not yet written.
    public var queuedOutputBytes: Int
    /// Bytes the client sent that the server has not read yet (it paused reading).
    public var heldInputBytes: Int
    /// Write system calls (`write`, `writev`, `sendfile`) the server made on the connection.
    public var writeCalls: Int

    /// The state in a few words, e.g. `"write side shut, 0 bytes queued, 1 write calls"`.
    public var description: String {
        var parts: [String] = []
        if isClosed { parts.append("closed") }
        if isWriteShutdown { parts.append("write side shut") }
        if isReadingPaused { parts.append("reading paused") }
        if isAwaitingWritable { parts.append("awaiting writable") }
        parts.append("\(queuedOutputBytes) bytes queued")
        if heldInputBytes > 0 { parts.append("\(heldInputBytes) input bytes held") }
        parts.append("\(writeCalls) write calls")
        return parts.joined(separator: ", ")
    }
}
