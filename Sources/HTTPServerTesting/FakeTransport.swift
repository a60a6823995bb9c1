import Glibc
import HTTPServerReactor

/// An in-memory socket: the server's connection writes into it, and a test plays the peer.
///
/// The peer can send bytes (delivered at once, or held while the server has paused reading),
/// half-close, reset, and stop or resume reading: with a `readWindow` the transport takes only
/// that many bytes and then answers `wouldBlock`, as a socket whose peer does not read would.
///
/// Everything is synchronous: `send(_:)` returns after the connection has handled the bytes and
/// written what it had to write. ``TestClient`` wraps one; use it directly to drive a connection
/// step by step:
///
/// ```swift
/// let server = try HTTPServer(clock: ManualClock(), wallClock: { 0 }, handlerFactory: { MyHandler() })
/// let transport = FakeTransport()
/// server.serveConnection(over: transport, peer: nil)
/// transport.send("GET / HTTP/1.1\r\n\r\n")
/// let bytes = transport.takeWritten()
/// ```
public final class FakeTransport: Transport {
    /// The connection served over this transport (set by `HTTPServer.serveConnection(over:peer:)`);
    /// released on `close()`.
    public var delegate: TransportDelegate?

    /// Every byte the server has written, in order (file regions included).
    public private(set) var written: [UInt8] = []
    /// Bytes of `written` the test has already taken with `takeWritten()`.
    private var taken = 0
    /// How many more bytes the server may write before `wouldBlock`; nil means no limit.
    public private(set) var readWindow: Int?
    /// The server closed the connection.
    public private(set) var isClosed = false
    /// The server paused reading (backpressure, or a handler that is not ready for more).
    public private(set) var isReadingPaused = false
    /// The server shut its write side (`shutdown(SHUT_WR)`): it has sent its last byte.
    public private(set) var isWriteShutdown = false
    /// `outputEndsStream()` was called: the server closes as soon as its output is out.
    public private(set) var isOutputEndingStream = false
    /// The server got `wouldBlock` and waits to hear that it can write again.
    public private(set) var isAwaitingWritable = false
    /// Bytes sent by the peer while reading was paused, delivered on resume.
    public private(set) var heldInput: [UInt8] = []
    private var heldEndOfInput = false
    /// System calls the server made, by name: `write`, `writev`, `sendfile`.
    public private(set) var callCounts: [String: Int] = [:]

    /// Told of every byte the peer sends (before the server gets it): how a ``TestClient`` knows
    /// what its responses answer, even for bytes a test sends through the transport itself.
    var peerSent: (([UInt8]) -> Void)?

    /// A transport with no peer activity yet; hand it to `HTTPServer.serveConnection(over:peer:)`.
    public init() {}

    /// How many write system calls (`write`, `writev`, `sendfile`) the server made.
    public var writeCallCount: Int {
        callCounts["write", default: 0] + callCounts["writev", default: 0] + callCounts["sendfile", default: 0]
    }

    /// Bytes written and not yet taken with `takeWritten()`.
    public var untakenCount: Int { written.count - taken }

    // MARK: The peer

    /// Delivers `bytes` to the server (held while it has paused reading).
    public func send(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        peerSent?(bytes)
        if isReadingPaused {
            heldInput += bytes
            return
        }
        bytes.withUnsafeBytes { delegate?.bytesReceived($0) }
    }

    /// Delivers the UTF-8 bytes of `text` to the server.
    public func send(_ text: String) {
        send(Array(text.utf8))
    }

    /// The peer half-closes (shutdown(SHUT_WR)): the server reads end of stream.
    public func sendEndOfInput() {
        guard !isClosed else { return }
        if isReadingPaused || !heldInput.isEmpty {
            heldEndOfInput = true
            return
        }
        delegate?.endOfInput()
    }

    /// The peer resets the connection: the server's next read fails with `ECONNRESET`.
    public func reset() {
        guard !isClosed else { return }
        delegate?.transportFailed(SystemError(call: "read", errno: ECONNRESET))
    }

    /// The peer stops reading: the server may write `bytes` more, then gets `wouldBlock`.
    public func stopReading(after bytes: Int = 0) {
        readWindow = bytes
    }

    /// The peer reads again: `bytes` more (nil: without limit), and the server hears it can write.
    public func resumeReading(_ bytes: Int? = nil) {
        if let bytes, let window = readWindow {
            readWindow = window + bytes
        } else {
            readWindow = bytes
        }
        if isAwaitingWritable && !isClosed {
            isAwaitingWritable = false
            delegate?.transportWritable()
        }
    }

    /// The bytes written since the last call.
    public func takeWritten() -> [UInt8] {
        defer { taken = written.count }
        return Array(written[taken...])
    }

    // MARK: Transport

    private func accept(_ count: Int) -> Int {
        guard let window = readWindow else { return count }
        let n = min(window, count)
        readWindow = window - n
        return n
    }

    /// The server's `write(2)`: takes what the read window allows; `EPIPE` once closed.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        callCounts["write", default: 0] += 1
        guard !isClosed, !isWriteShutdown else { throw SystemError(call: "write", errno: EPIPE) }
        let n = accept(bytes.count)
        if n == 0 && bytes.count > 0 { return .wouldBlock }
        written.append(contentsOf: bytes[0..<n])
        return .processed(n)
    }

    /// The server's `writev(2)`: takes what the read window allows, across the buffers in order.
    public func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        callCounts["writev", default: 0] += 1
        guard !isClosed, !isWriteShutdown else { throw SystemError(call: "writev", errno: EPIPE) }
        let total = buffers.reduce(0) { $0 + $1.count }
        var left = accept(total)
        if left == 0 && total > 0 { return .wouldBlock }
        let n = left
        for buffer in buffers where left > 0 {
            let part = min(left, buffer.count)
            written.append(contentsOf: buffer[0..<part])
            left -= part
        }
        return .processed(n)
    }

    /// The server's `sendfile(2)`: reads the file region (at most 1 MiB a call, as a socket buffer
    /// would take) and records its bytes.
    public func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        callCounts["sendfile", default: 0] += 1
        guard !isClosed, !isWriteShutdown else { throw SystemError(call: "sendfile", errno: EPIPE) }
        let want = accept(min(range.count, 1 << 20))
        if want == 0 && !range.isEmpty { return .wouldBlock }
        var chunk = [UInt8](repeating: 0, count: want)
        let n = chunk.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, want, off_t(range.lowerBound)) }
        if n < 0 { throw SystemError(call: "sendfile", errno: errno) }
        if let window = readWindow { readWindow = window + (want - n) }
        written.append(contentsOf: chunk[0..<n])
        return .processed(n)
    }

    /// The server stops reading: bytes the peer sends are held until `resumeReading()`.
    public func pauseReading() {
        isReadingPaused = true
    }

    /// The server reads again: held bytes (and a held end of input) are delivered now.
    public func resumeReading() {
        guard isReadingPaused else { return }
        isReadingPaused = false
        if !heldInput.isEmpty {
            let input = heldInput
            heldInput = []
            input.withUnsafeBytes { delegate?.bytesReceived($0) }
        }
        if heldEndOfInput && !isReadingPaused && !isClosed {
            heldEndOfInput = false
            delegate?.endOfInput()
        }
    }

    /// The server asks to hear when it can write again (the peer's `resumeReading(_:)` tells it).
    public func awaitWritable() {
        isAwaitingWritable = true
    }

    /// The server shuts its write side.
    public func shutdownWrite() {
        isWriteShutdown = true
    }

    /// The server promised to end the stream once its output is out (a real socket then holds the
    /// last partial segment back so the FIN leaves with it); bytes written here are delivered as ever.
    public func outputEndsStream() {
        isOutputEndingStream = true
    }

    /// The server closes the connection; the delegate is released.
    public func close() {
        isClosed = true
        delegate = nil
    }
}
