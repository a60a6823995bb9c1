import CHTTPServerOpenSSL
import Glibc
import HTTPServerReactor

// Writing: plaintext goes through SSL_write, at most one record (16 KiB) per call; the ciphertext
// OpenSSL produces gathers in the context's shared buffer and goes to the lower transport in one
// write at the end of the operation. What the lower transport does not take is copied into
// `pendingOutput`, and until that is out the transport takes no more plaintext (`.wouldBlock`):
// backpressure is the socket's.
extension TLSTransport {
    /// Encrypts the start of `bytes`, at most one record (16 KiB), and hands the ciphertext to the lower
    /// transport: `.processed(n)` for the plaintext bytes taken, `.wouldBlock` while earlier ciphertext
    /// is still waiting for the socket.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        try checkWritable("SSL_write")
        if bytes.isEmpty { return .processed(0) }
        guard try flushPendingOutput() else { return .wouldBlock }
        if case .pending(let candidate) = kernelTLS { takeKernelTLS(candidate) }
        if isKernelTLS { return try lower.write(bytes) }
        let count = min(bytes.count, TLSContext.recordSize)
        return try encrypt(UnsafeRawBufferPointer(rebasing: bytes[..<count]))
    }

    /// Gathers the buffers into one record (a response's head and body leave as one record, in
    /// one send).
    public func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        try checkWritable("SSL_write")
        guard try flushPendingOutput() else { return .wouldBlock }
        if case .pending(let candidate) = kernelTLS { takeKernelTLS(candidate) }
        if isKernelTLS { return try lower.write(vectored: buffers) }
        let scratch = context.plaintext
        var count = 0
        for buffer in buffers where !buffer.isEmpty {
            let take = min(buffer.count, scratch.count - count)
            (scratch.baseAddress! + count).copyMemory(from: buffer.baseAddress!, byteCount: take)
            count += take
            if count == scratch.count { break }
        }
        if count == 0 { return .processed(0) }
        return try encrypt(UnsafeRawBufferPointer(start: scratch.baseAddress, count: count))
    }

    /// Under kernel TLS the socket's `sendfile`. Without it a file cannot be sent by the kernel: up
    /// to one record of it is read into the context's buffer (pread) and encrypted, with the same
    /// backpressure as any write. `.processed(0)` for a non-empty range means the file ended before
    /// the range did.
    public func sendFile(_ file: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        try checkWritable("SSL_write")
        if range.isEmpty { return .processed(0) }
        guard try flushPendingOutput() else { return .wouldBlock }
        if case .pending(let candidate) = kernelTLS { takeKernelTLS(candidate) }
        if isKernelTLS {
            let result = try lower.sendFile(file, range: range)
            if case .processed(let count) = result {
                context.kernelTLSCounters.sendFileCalls += 1
                context.kernelTLSCounters.sendFileBytes += count
            }
            return result
        }
        let scratch = context.plaintext
        let want = min(range.count, scratch.count)
        let input = file.rawValue
        var count: Int
        repeat {
            count = pread(input, scratch.baseAddress, want, off_t(range.lowerBound))
        } while count < 0 && errno == EINTR
        if count < 0 { throw SystemError(call: "pread", errno: errno) }
        if count == 0 { return .processed(0) }
        return try encrypt(UnsafeRawBufferPointer(start: scratch.baseAddress, count: count))
    }

    func checkWritable(_ call: String) throws(SystemError) {
        switch state {
        case .established:
            if isShutdownRequested { throw SystemError(call: call, errno: EPIPE) }
        case .closed:
            throw SystemError(call: call, errno: EBADF)
        case .awaitingHello, .handshaking, .answeringPlaintext:
            throw SystemError(call: call, errno: ENOTCONN)
        }
    }

    /// One SSL_write of `bytes` (at most one record), then the ciphertext out.
    func encrypt(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        guard let ssl else { throw SystemError(call: "SSL_write", errno: EBADF) }
        var written = 0
        let result = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written)
        if result != 1 {
            let reason = Self.reason(of: SSL_get_error(ssl, 0), operation: "write")
            throw SystemError(call: "SSL_write", errno: EIO, detail: reason)
        }
        try flushCiphertext()
        return .processed(written)
    }

    // MARK: Ciphertext out

    /// Writes the ciphertext of the last operation (in the context's buffer) behind what is pending;
    /// keeps what the lower transport does not take.
    func flushCiphertext() throws(SystemError) {
        let count = context.ciphertextCount
        guard count > 0 else { return }
        context.ciphertextCount = 0
        if isKernelTLS {
            // What follows the kernel's records must be encrypted by the kernel: OpenSSL's record
            // (a KeyUpdate's answer, an alert) cannot be sent. Dropped, and the connection closes.
            let reason = "OpenSSL wrote a record after kernel TLS took over the output (a KeyUpdate or an alert)"
            context.onFailure?(self, reason)
            throw SystemError(call: "SSL_write", errno: EPROTO, detail: reason)
        }
        let produced = UnsafeRawBufferPointer(start: context.ciphertext, count: count)
        if pendingOutputOffset < pendingOutput.count {
            pendingOutput.append(contentsOf: produced)
            return
        }
        var sent = 0
        while sent < count {
            let result = try lower.write(UnsafeRawBufferPointer(rebasing: produced[sent...]))
            guard case .processed(let n) = result, n > 0 else { break }
            sent += n
        }
        if sent < count {
            pendingOutput.removeAll()  // drops the old allocation, if any
            pendingOutputOffset = 0
            pendingOutput.append(contentsOf: produced[sent...])
        }
    }

    /// Like `flushCiphertext`, for callers that cannot throw (after reads and handshake steps): a
    /// failed write fails the connection.
    func flushAfterOperation() {
        do {
            try flushCiphertext()
        } catch {
            transportFailed(error)
        }
    }

    /// Writes pending ciphertext; true when none is left (its buffer is then released).
    func flushPendingOutput() throws(SystemError) -> Bool {
        while pendingOutputOffset < pendingOutput.count {
            let offset = pendingOutputOffset
            let result = try pendingOutput.withUnsafeBytes { bytes -> Result<IOResult, SystemError> in
                do throws(SystemError) {
                    return .success(try lower.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])))
                } catch {
                    return .failure(error)
                }
            }.get()
            guard case .processed(let n) = result, n > 0 else { return false }
            pendingOutputOffset += n
        }
        if !pendingOutput.isEmpty || pendingOutput.capacity > 0 {
            pendingOutput = []
            pendingOutputOffset = 0
        }
        return true
    }

    // MARK: Transport

    /// Stops `bytesReceived` calls to the delegate and pauses the lower transport; what has already
    /// arrived is kept for `resumeReading()`.
    public func pauseReading() {
        guard !isReadingPaused else { return }
        isReadingPaused = true
        lower.pauseReading()
    }

    /// Resumes the lower transport; plaintext kept while paused is delivered on the loop's next turn.
    public func resumeReading() {
        guard isReadingPaused else { return }
        isReadingPaused = false
        lower.resumeReading()
        guard state == .established, hasBufferedInput else { return }
        // Deliver what was kept while paused on the loop's next turn, not from inside the caller.
        let timer = resumeTimer ?? Timer { [weak self] in self?.deliverBufferedInput() }
        resumeTimer = timer
        context.scheduler.arm(timer, after: .zero)
    }

    var hasBufferedInput: Bool {
        guard let ssl else { return false }
        return pendingInputOffset < pendingInput.count || SSL_has_pending(ssl) == 1 || (isInputEnded && !isEndDelivered)
    }

    func deliverBufferedInput() {
        guard state == .established, !isReadingPaused else { return }
        advance()
        releaseConsumedInput()
    }

    /// Asks for one `transportWritable()` call to the delegate once the lower transport has taken the
    /// pending ciphertext and can take more.
    public func awaitWritable() {
        guard state != .closed else { return }
        isAwaitingWritable = true
        lower.awaitWritable()
    }

    /// Sends close_notify, then shuts down the lower transport's writing once all is out.
    public func shutdownWrite() {
        guard state != .closed, !isShutdownRequested else { return }
        isShutdownRequested = true
        if state == .established, isKernelTLS {
            _ = sendKernelCloseNotify()
        } else if state == .established, let ssl {
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
            flushAfterOperation()
        }
        finishShutdownIfFlushed()
    }

    func finishShutdownIfFlushed() {
        guard isShutdownRequested, !isLowerShutDown, state != .closed else { return }
        if case .kernel(isCloseNotifyOwed: true) = kernelTLS { return }
        guard pendingOutputOffset >= pendingOutput.count else {
            lower.awaitWritable()
            return
        }
        isLowerShutDown = true
        lower.shutdownWrite()
    }

    /// Passes the promise on to the lower transport, which then holds back its last partial segment.
    /// Under kernel TLS not passed on: with MSG_MORE the kernel would hold its last record open
    /// until more came. While kernel TLS is pending, passed on only if it falls back.
    public func outputEndsStream() {
        switch kernelTLS {
        case .userSpace: lower.outputEndsStream()
        case .pending(let candidate): candidate.isOutputEndDeferred = true
        case .kernel: break
        }
    }

    /// Sends close_notify if it was not sent (best effort: what the socket takes at once), frees
    /// the TLS state and closes the lower transport. The delegate hears nothing more.
    public func close() {
        guard state != .closed else { return }
        let wasEstablished = state == .established
        state = .closed
        strongDelegate = nil
        if let timer { context.scheduler.disarm(timer) }
        if let resumeTimer { context.scheduler.disarm(resumeTimer) }
        timer = nil
        resumeTimer = nil
        if let ssl {
            if case .pending(let candidate) = kernelTLS { candidate.wipe() }
            let owesCloseNotify = wasEstablished && !isShutdownRequested && !isEndDelivered
                && pendingOutputOffset >= pendingOutput.count
            if owesCloseNotify && isKernelTLS {
                isShutdownRequested = true
                _ = sendKernelCloseNotify(waiting: false)
            } else if owesCloseNotify {
                isShutdownRequested = true
                _ = SSL_shutdown(ssl)
                if context.ciphertextCount > 0 {
                    _ = try? lower.write(UnsafeRawBufferPointer(start: context.ciphertext, count: context.ciphertextCount))
                }
            }
            context.ciphertextCount = 0
            ERR_clear_error()
            SSL_free(ssl)
            self.ssl = nil
        }
        pendingInput = []
        pendingOutput = []
        lower.delegate = nil
        lower.close()
    }
}
