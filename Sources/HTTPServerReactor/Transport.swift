/// A byte stream to a peer: the epoll socket, or a fake one in tests.
public protocol Transport: AnyObject {
    /// Held strongly until `close()`, which releases it (the loop registration owns the transport).
    var delegate: TransportDelegate? { get set }
    /// Writes as much of `bytes` as the peer can take now: `.processed(n)`, possibly fewer than asked,
    /// or `.wouldBlock` when nothing could be written (then `awaitWritable()`).
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult
    /// One gathering write (writev) of several buffers.
    func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult
    /// sendfile(2) of `range` of `fd`.
    func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult
    /// Stops `bytesReceived` calls until `resumeReading()`; what the peer sends waits (for a socket, in
    /// the kernel, where TCP flow control slows the peer).
    func pauseReading()
    /// Starts `bytesReceived` calls again after `pauseReading()`, beginning with what waited.
    func resumeReading()
    /// Asks for one `transportWritable()` call when the peer can take more bytes (arms EPOLLOUT).
    func awaitWritable()
    /// shutdown(SHUT_WR): the peer sees end of stream; reading goes on.
    func shutdownWrite()
    /// The owner will close (or shut down writing) as soon as what it writes from now on is out.
    /// A socket then holds back its last partial segment, so that the FIN leaves with it: one packet
    /// fewer per connection for both ends. Only a promise to end the stream may call this: the held
    /// bytes go out when the stream ends (or when more is written), not before.
    func outputEndsStream()
    /// Closes; the delegate is told nothing more and is released.
    func close()
}

/// What a transport tells its owner. Called on the loop thread.
public protocol TransportDelegate: AnyObject {
    /// While reading was paused, the peer closed its side with `unreadBytes` still unread (they,
    /// and the end of input, come when reading resumes). Optional.
    func peerHalfClosed(unreadBytes: Int)

    /// Bytes valid only during the call.
    func bytesReceived(_ bytes: UnsafeRawBufferPointer)
    /// The peer half-closed (read returned 0).
    func endOfInput()
    /// After `awaitWritable()`: the socket can take more.
    func transportWritable()
    /// A read or write failed (ECONNRESET, EPIPE...). The owner closes the transport.
    func transportFailed(_ error: SystemError)
}

extension Transport {
    public func outputEndsStream() {}
}

extension TransportDelegate {
    public func peerHalfClosed(unreadBytes: Int) {}
}
