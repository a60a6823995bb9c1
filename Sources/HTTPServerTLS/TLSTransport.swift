import CHTTPServerOpenSSL
import Glibc
import HTTPServerReactor

/// The server side of a TLS connection, as one more `Transport`: it wraps the transport below it (a
/// `SocketTransport`, or an in-memory one in tests), whose delegate it is, and hands its own
/// delegate the decrypted stream. The connection code above runs unchanged.
///
/// OpenSSL reads and writes through a custom BIO (`TLSTransport+BIO`): ciphertext comes straight
/// from the bytes the socket just read, and goes out through the socket's `write`; what the socket
/// does not take at once is kept here until it is writable. Nothing blocks: the handshake advances
/// as bytes arrive, and has its own timeout. An idle connection holds no buffer of its own, and
/// OpenSSL releases its record buffers (`SSL_MODE_RELEASE_BUFFERS`).
///
/// With `TLSConfiguration.kernelTLS`, where Linux offers kernel TLS, the output of a connection over
/// a socket goes to the kernel at its first write after the handshake: plaintext is written to the
/// socket and files leave with `sendfile` (`TLSTransport+KernelTLS`).
///
/// Before the handshake, a first byte that is not a TLS handshake record (0x16) is not passed to
/// OpenSSL: an uppercase letter (a plaintext request line) is answered with
/// `TLSConfiguration.plaintextResponse`, anything else closes the connection.
public final class TLSTransport: Transport, TransportDelegate {
    enum State {
        /// Nothing received yet: the first byte decides between TLS and a plaintext answer.
        case awaitingHello
        case handshaking
        case established
        /// A plaintext request was answered; its input is dropped until the peer closes.
        case answeringPlaintext
        case closed
    }

    let lower: Transport
    let context: TLSContext
    var state: State = .awaitingHello
    /// Owned from `start`-up to `close()`.
    var ssl: OpaquePointer?
    var strongDelegate: TransportDelegate?

    /// Ciphertext received while the delegate could not take more, or that OpenSSL has not yet asked
    /// for; empty (no allocation) otherwise.
    var pendingInput: [UInt8] = []
    var pendingInputOffset = 0
    /// The bytes being handed to OpenSSL during `bytesReceived` (valid only during the call).
    var currentInput: UnsafeRawBufferPointer?
    var currentInputOffset = 0
    /// Ciphertext the socket has not taken yet; empty (no allocation) when all is out.
    var pendingOutput: [UInt8] = []
    var pendingOutputOffset = 0

    var isReadingPaused = false
    var isAwaitingWritable = false
    /// The lower transport's input ended (or failed) and its end has not been passed on yet.
    var isInputEnded = false
    var isEndDelivered = false
    /// close_notify sent (SSL_shutdown); shut down the lower transport once output is out.
    var isShutdownRequested = false
    var isLowerShutDown = false
    /// Handshake timeout, then (lazily) the timer that delivers input buffered while paused.
    var timer: Timer?
    var resumeTimer: Timer?

    /// Who encrypts the output (see `TLSTransport+KernelTLS`).
    enum KernelTLSState {
        case userSpace(KernelTLSFallback)
        case pending(KernelTLSCandidate)
        /// `isCloseNotifyOwed`: the close_notify record waits for the socket to take it.
        case kernel(isCloseNotifyOwed: Bool)
    }
    var kernelTLS: KernelTLSState

    /// The owner that receives the decrypted bytes; held strongly until `close()` (setting it after
    /// `close()` does nothing).
    public var delegate: TransportDelegate? {
        get { strongDelegate }
        set { if state != .closed { strongDelegate = newValue } }
    }

    /// The transport the ciphertext travels over.
    public var underlyingTransport: Transport { lower }

    /// Wraps `lower`, becoming its delegate, and starts the handshake timeout. Start `lower` (for a
    /// socket, `SocketTransport.start()`) after setting this transport's delegate.
    public init(over lower: Transport, context: TLSContext) throws(TLSError) {
        self.lower = lower
        self.context = context
        if let reason = context.kernelTLSFallback {
            kernelTLS = .userSpace(reason)
        } else if lower is KernelTLSCapable {
            kernelTLS = .pending(KernelTLSCandidate())
        } else {
            kernelTLS = .userSpace(.notASocket)
        }
        guard let ssl = SSL_new(context.context) else { throw TLSError(TLSContext.errorQueue("SSL_new")) }
        guard let bio = BIO_new(context.bioMethod) else {
            SSL_free(ssl)
            throw TLSError(TLSContext.errorQueue("BIO_new"))
        }
        self.ssl = ssl
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        SSL_set_bio(ssl, bio, bio)  // one BIO both ways; SSL_free frees it
        SSL_set_accept_state(ssl)
        lower.delegate = self
        let timer = Timer { [weak self] in self?.handshakeTimedOut() }
        self.timer = timer
        context.scheduler.arm(timer, after: context.configuration.handshakeTimeout)
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    /// True once the handshake is complete.
    public var isEstablished: Bool { state == .established }

    /// The protocol chosen by ALPN, if any.
    public var negotiatedProtocol: String? {
        guard let ssl else { return nil }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String? { ssl.map { String(cString: SSL_get_version($0)) } }

    /// The cipher suite, e.g. "TLS_AES_128_GCM_SHA256".
    public var cipherName: String? {
        guard let ssl, let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return String(cString: SSL_CIPHER_get_name(cipher))
    }

    /// Whether this connection resumed an earlier session (a ticket).
    public var isSessionReused: Bool { ssl.map { SSL_session_reused($0) == 1 } ?? false }

    /// Bytes this connection holds in buffers of its own (not counting OpenSSL's): zero when idle.
    public var bufferedByteCount: Int { pendingInput.capacity + pendingOutput.capacity }

    // MARK: Input from the lower transport

    /// Ciphertext from the lower transport: it advances the handshake, or is decrypted and handed to the
    /// delegate. A first byte that does not start a TLS handshake record ends the connection (see
    /// `TLSConfiguration.plaintextResponse`).
    public func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .closed:
            return
        case .answeringPlaintext:
            return  // dropped until the peer closes
        case .awaitingHello:
            guard let first = bytes.first else { return }
            if first != 0x16 {
                answerNonTLS(startingWith: first)
                return
            }
            state = .handshaking
        case .handshaking, .established:
            break
        }
        if pendingInputOffset < pendingInput.count {
            // OpenSSL reads the older bytes first.
            pendingInput.append(contentsOf: bytes)
        } else {
            currentInput = bytes
            currentInputOffset = 0
        }
        advance()
        keepUnreadInput()
    }

    /// The lower transport's peer closed: before the handshake is complete a failure
    /// (`transportFailed`), after it `endOfInput()` for the delegate once what came before is read.
    public func endOfInput() {
        isInputEnded = true
        switch state {
        case .closed:
            return
        case .awaitingHello:
            // Connected and left without a word: no log line.
            failQuietly(SystemError(call: "SSL_accept", errno: ECONNRESET, detail: "the client closed before the handshake"))
        case .answeringPlaintext:
            failQuietly(SystemError(call: "SSL_accept", errno: EPROTO, detail: "plain HTTP request sent to the TLS port"))
        case .handshaking:
            fail("the client closed the connection during the handshake", call: "SSL_do_handshake", errno: ECONNRESET)
        case .established:
            advance()
        }
    }

    /// Passed on to the delegate, counting the ciphertext this transport still holds as unread too.
    public func peerHalfClosed(unreadBytes: Int) {
        strongDelegate?.peerHalfClosed(unreadBytes: unreadBytes + pendingInput.count - pendingInputOffset)
    }

    /// The lower transport can take more: pending ciphertext goes out, and then the delegate hears
    /// `transportWritable()` if it asked.
    public func transportWritable() {
        guard state != .closed else { return }
        do {
            guard try flushPendingOutput() else {
                lower.awaitWritable()
                return
            }
        } catch {
            transportFailed(error)
            return
        }
        if case .kernel(isCloseNotifyOwed: true) = kernelTLS, !sendKernelCloseNotify() { return }
        finishShutdownIfFlushed()
        if isAwaitingWritable {
            isAwaitingWritable = false
            strongDelegate?.transportWritable()
        }
    }

    /// The lower transport failed: the delegate hears it (and closes); a failure during the handshake
    /// is also reported to `TLSContext.onFailure`.
    public func transportFailed(_ error: SystemError) {
        switch state {
        case .closed:
            return
        case .awaitingHello, .answeringPlaintext:
            failQuietly(error)
        case .handshaking:
            fail("\(error) during the handshake", call: error.call, errno: error.errno)
        case .established:
            isInputEnded = true
            isEndDelivered = true
            strongDelegate?.transportFailed(error)
        }
    }

    // MARK: Driving OpenSSL

    /// Advances the handshake, then decrypts and delivers what the delegate will take.
    func advance() {
        if state == .handshaking {
            guard let ssl else { return }
            let result = SSL_do_handshake(ssl)
            if case .pending(let candidate) = kernelTLS { candidate.handshakeStepEnded() }
            if result != 1 {
                let error = SSL_get_error(ssl, result)
                if error == SSL_ERROR_WANT_READ {
                    flushAfterOperation()
                    if isInputEnded {
                        fail("the client closed the connection during the handshake", call: "SSL_do_handshake",
                             errno: ECONNRESET)
                    }
                    return
                }
                flushAfterOperation()  // the alert, if any
                fail(Self.reason(of: error, operation: "handshake"), call: "SSL_do_handshake", errno: EPROTO)
                return
            }
            state = .established
            if let timer { context.scheduler.disarm(timer) }
            timer = nil
            flushAfterOperation()
            guard state == .established else { return }
        }
        readApplicationData()
    }

    func readApplicationData() {
        let buffer = context.plaintext
        while state == .established, !isReadingPaused, !isEndDelivered, let ssl {
            let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if count > 0 {
                strongDelegate?.bytesReceived(UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)))
                continue
            }
            let error = SSL_get_error(ssl, count)
            flushAfterRead()
            guard state == .established else { return }
            switch error {
            case SSL_ERROR_WANT_READ:
                guard isInputEnded else { return }
                // The stream ended without close_notify (a truncation TLS can detect; HTTP's own
                // framing decides whether anything was lost).
                ERR_clear_error()
                deliverEnd()
            case SSL_ERROR_ZERO_RETURN:
                deliverEnd()  // close_notify
            default:
                let reason = Self.reason(of: error, operation: "read")
                isEndDelivered = true
                context.onFailure?(self, reason)
                strongDelegate?.transportFailed(SystemError(call: "SSL_read", errno: EPROTO, detail: reason))
            }
            return
        }
        if state == .established, !isReadingPaused { flushAfterRead() }
    }

    func deliverEnd() {
        guard !isEndDelivered else { return }
        isEndDelivered = true
        strongDelegate?.endOfInput()
    }

    /// Keeps what OpenSSL has not read of the bytes just received (they are valid only during the call).
    func keepUnreadInput() {
        defer { currentInput = nil }
        guard state != .closed, let input = currentInput, currentInputOffset < input.count else { return }
        pendingInput.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[currentInputOffset...]))
    }

    /// A description of OpenSSL's error for the log.
    static func reason(of error: Int32, operation: String) -> String {
        switch error {
        case SSL_ERROR_SSL:
            return TLSContext.errorQueue("TLS \(operation) failed")
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            return "TLS \(operation) failed: the stream ended in the middle of a record"
        default:
            return TLSContext.errorQueue("TLS \(operation) failed (SSL_get_error \(error))")
        }
    }

    // MARK: Failures

    func handshakeTimedOut() {
        timer = nil
        switch state {
        case .answeringPlaintext:
            failQuietly(SystemError(call: "SSL_accept", errno: EPROTO, detail: "plain HTTP request sent to the TLS port"))
        case .awaitingHello, .handshaking:
            fail("the handshake timed out", call: "SSL_do_handshake", errno: ETIMEDOUT)
        case .established, .closed:
            return
        }
    }

    /// Logs (through the context) and tells the delegate, which closes.
    func fail(_ reason: String, call: String, errno: Int32) {
        guard state != .closed, !isEndDelivered else { return }
        context.onFailure?(self, reason)
        failQuietly(SystemError(call: call, errno: errno, detail: reason))
    }

    func failQuietly(_ error: SystemError) {
        guard state != .closed, !isEndDelivered else { return }
        isEndDelivered = true
        if let delegate = strongDelegate {
            delegate.transportFailed(error)
        } else {
            close()
        }
    }

    /// The first byte is not a TLS handshake record.
    func answerNonTLS(startingWith first: UInt8) {
        guard first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"), let response = context.configuration.plaintextResponse else {
            fail("not a TLS handshake (first byte 0x\(String(first, radix: 16)))", call: "SSL_accept", errno: EPROTO)
            return
        }
        state = .answeringPlaintext
        context.onFailure?(self, "plain HTTP request sent to the TLS port")
        lower.outputEndsStream()
        _ = response.withUnsafeBytes { try? lower.write($0) }
        lower.shutdownWrite()
        // What the client sends now is read and dropped until it closes (a close with unread input
        // would reset the answer); the handshake timer, rearmed short, bounds the wait.
        if let timer { context.scheduler.arm(timer, after: .seconds(2)) }
    }
}
