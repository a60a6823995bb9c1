import Glibc
import Reactor

/// An in-memory socket: the server's connection writes into it, and a test plays the peer.
///
/// The peer can send bytes (delivered at once, or held while the server has paused reading),
/// half-close, reset, and stop or resume reading: with a `readWindow` the transport takes only
/// that many bytes and then answers `wouldBlock`, as a socket whose peer does not read would.
public final class FakeTransport: Transport {
    public var delegate: TransportDelegate?

    /// Every byte the server has written, in order (file regions included).
    public private(set) var written: [UInt8] = []
    /// Bytes of `written` the test has already taken with `takeWritten()`.
    private var taken = 0
    /// How many more bytes the server may write before `wouldBlock`; nil means no limit.
    public private(set) var readWindow: Int?
    public private(set) var isClosed = false
    public private(set) var isReadingPaused = false
    public private(set) var isWriteShutdown = false
    public private(set) var isAwaitingWritable = false
    /// Bytes sent by the peer while reading was paused, delivered on resume.
    public private(set) var heldInput: [UInt8] = []
    private var heldEndOfInput = false
    /// System calls the server made, by name: `write`, `writev`, `sendfile`.
    public private(set) var callCounts: [String: Int] = [:]

    public init() {}

    // MARK: The peer

    /// Delivers `bytes` to the server (held while it has paused reading).
    public func send(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        if isReadingPaused {
            heldInput += bytes
            return
        }
        bytes.withUnsafeBytes { delegate?.bytesReceived($0) }
    }

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

    /// The peer resets the connection.
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

    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        callCounts["write", default: 0] += 1
        guard !isClosed, !isWriteShutdown else { throw SystemError(call: "write", errno: EPIPE) }
        let n = accept(bytes.count)
        if n == 0 && bytes.count > 0 { return .wouldBlock }
        written.append(contentsOf: bytes[0..<n])
        return .processed(n)
    }

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

    public func pauseReading() {
        isReadingPaused = true
    }

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

    public func awaitWritable() {
        isAwaitingWritable = true
    }

    public func shutdownWrite() {
        isWriteShutdown = true
    }

    public func close() {
        isClosed = true
        delegate = nil
    }
}
