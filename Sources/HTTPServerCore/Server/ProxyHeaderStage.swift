import HTTPServerReactor

/// The transport's delegate between accept and the HTTP connection, for a peer that must open with
/// a PROXY protocol header: it feeds a `ProxyHeaderParser`, then hands the transport, the address
/// the header carries and the bytes after it to `onHeader`, which creates the HTTP connection. The
/// HTTP connection never sees the header. Anything else (a bad header, end of input, a failed read,
/// no complete header before the timeout) closes the transport with nothing written.
final class ProxyHeaderStage: TransportDelegate {
    private let transport: Transport
    private let peer: SocketAddress?
    private var parser: ProxyHeaderParser
    private let clock: TimerScheduler
    private var timer: Timer?
    private var onHeader: ((Transport, SocketAddress?, UnsafeRawBufferPointer) -> Void)?
    private let onClose: (ProxyHeaderStage) -> Void

    /// `onHeader` gets the transport, the client's address and the leftover bytes (valid during
    /// the call); `onClose` is told when the stage ends without one.
    init(transport: Transport, peer: SocketAddress?, configuration: ProxyProtocolConfiguration, clock: TimerScheduler,
         onHeader: @escaping (Transport, SocketAddress?, UnsafeRawBufferPointer) -> Void,
         onClose: @escaping (ProxyHeaderStage) -> Void) {
        self.transport = transport
        self.peer = peer
        self.parser = ProxyHeaderParser(maxVersion2Length: configuration.maxVersion2Length)
        self.clock = clock
        self.onHeader = onHeader
        self.onClose = onClose
        let timer = Timer { [weak self] in self?.fail() }
        self.timer = timer
        clock.arm(timer, at: clock.now.advanced(by: configuration.headerTimeout))
    }

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        guard let onHeader else { return }
        let step: ProxyHeaderParser.Step
        do throws(ProxyHeaderError) {
            step = try parser.parse(bytes)
        } catch {
            fail()
            return
        }
        guard case .complete(let header, let consumed) = step else { return }
        self.onHeader = nil
        if let timer { clock.disarm(timer) }
        timer = nil
        onHeader(transport, header.source ?? peer, UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
    }

    func endOfInput() { fail() }
    func transportWritable() {}
    func transportFailed(_ error: SystemError) { fail() }

    /// Closes the connection (shutdown, or the header failed): nothing was served on it.
    func fail() {
        guard onHeader != nil else { return }
        onHeader = nil
        if let timer { clock.disarm(timer) }
        timer = nil
        transport.close()
        onClose(self)
    }
}
