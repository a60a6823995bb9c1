import CHTTPServerOpenSSL
import Glibc
import HTTPServerTLS
import HTTPServerReactor

/// The transport under a `TLSTransport` in these tests: bytes written go into `written` (at most
/// `window` of them before a write would block), input is pushed with `deliver`.
class MemoryTransport: Transport {
    var delegate: TransportDelegate?
    var written: [UInt8] = []
    /// Bytes the peer will still take; nil: any number.
    var window: Int?
    private(set) var isClosed = false
    private(set) var isWriteShutDown = false
    private(set) var isReadingPaused = false
    private(set) var isAwaitingWritable = false
    private(set) var endsStream = false

    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        if isClosed { throw SystemError(call: "send", errno: EBADF) }
        if isWriteShutDown { throw SystemError(call: "send", errno: EPIPE) }
        var count = bytes.count
        if let window {
            if window == 0 { return .wouldBlock }
            count = min(count, window)
            self.window = window - count
        }
        written.append(contentsOf: bytes[..<count])
        return .processed(count)
    }

    func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        guard let first = buffers.first else { return .processed(0) }
        return try write(first)
    }

    func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        throw SystemError(call: "sendfile", errno: ENOSYS)
    }

    func pauseReading() { isReadingPaused = true }
    func resumeReading() { isReadingPaused = false }
    func awaitWritable() { isAwaitingWritable = true }
    func shutdownWrite() { isWriteShutDown = true }
    func outputEndsStream() { endsStream = true }
    func close() {
        isClosed = true
        delegate = nil
    }

    /// The peer sent `bytes`.
    func deliver(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { delegate?.bytesReceived($0) }
    }

    /// The peer took `count` more bytes: a waiting writer hears of it.
    func grant(_ count: Int?) {
        window = count
        if isAwaitingWritable {
            isAwaitingWritable = false
            delegate?.transportWritable()
        }
    }

    func takeWritten() -> [UInt8] {
        defer { written = [] }
        return written
    }
}

/// What the TLS transport hands up; closes it on failure, as `HTTPConnection` does.
final class RecordingDelegate: TransportDelegate {
    weak var transport: Transport?
    var received: [UInt8] = []
    var ended = false
    var failures: [SystemError] = []
    var writableCount = 0
    /// Called after each delivery (to pause, write an answer...).
    var onBytes: ((RecordingDelegate) -> Void)?

    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        onBytes?(self)
    }
    func endOfInput() { ended = true }
    func transportWritable() { writableCount += 1 }
    func transportFailed(_ error: SystemError) {
        failures.append(error)
        transport?.close()
    }
}

/// An OpenSSL client over memory BIOs: the test moves its bytes to and from the server.
final class MemoryTLSClient {
    let context: OpaquePointer
    let ssl: OpaquePointer
    let input: OpaquePointer   // what the server sent, for the client to read
    let output: OpaquePointer  // what the client wrote, for the server

    init(caFile: String, alpn: [String] = ["http/1.1"], maxVersion: Int32 = TLS1_3_VERSION,
         session: OpaquePointer? = nil) {
        context = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_load_verify_locations(context, caFile, nil)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(maxVersion), nil)
        ssl = SSL_new(context)!
        input = BIO_new(BIO_s_mem())!
        output = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, input, output)
        SSL_set1_host(ssl, "localhost")
        // A static string's bytes live for the whole run (a String's would be freed after the
        // conversion, before OpenSSL reads them: ASan caught it).
        let hostName: StaticString = "localhost"
        _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                     UnsafeMutableRawPointer(mutating: hostName.utf8Start))
        if !alpn.isEmpty {
            var wire: [UInt8] = []
            for name in alpn { wire.append(UInt8(name.utf8.count)); wire += Array(name.utf8) }
            SSL_set_alpn_protos(ssl, wire, UInt32(wire.count))
        }
        if let session { SSL_set_session(ssl, session) }
        SSL_set_connect_state(ssl)
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Advances the handshake; true once it is complete.
    @discardableResult
    func handshake() -> Bool { SSL_do_handshake(ssl) == 1 }

    var handshakeError: Int32 { SSL_get_error(ssl, SSL_do_handshake(ssl)) }

    /// Ciphertext the client has produced.
    func takeOutput() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = BIO_read(output, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out += chunk[..<Int(n)]
        }
        return out
    }

    func feed(_ bytes: [UInt8]) {
        if !bytes.isEmpty { _ = BIO_write(input, bytes, Int32(bytes.count)) }
    }

    func write(_ bytes: [UInt8]) {
        _ = SSL_write(ssl, bytes, Int32(bytes.count))
    }

    /// Decrypted bytes available now; `closed` when close_notify was read.
    func read() -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = SSL_read(ssl, &chunk, Int32(chunk.count))
            if n > 0 { out += chunk[..<Int(n)]; continue }
            return (out, SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
        }
    }

    var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    var version: String { String(cString: SSL_get_version(ssl)) }
    var isReused: Bool { SSL_session_reused(ssl) == 1 }
    /// The session to resume with (a ticket), retained.
    func session() -> OpaquePointer? { SSL_get1_session(ssl) }
}

/// Moves bytes both ways between `client` and the server's `lower` transport until neither moves.
func pump(_ client: MemoryTLSClient, _ lower: MemoryTransport) {
    for _ in 0..<100 {
        client.handshake()
        let up = client.takeOutput()
        if !up.isEmpty { lower.deliver(up) }
        let down = lower.takeWritten()
        client.feed(down)
        if up.isEmpty && down.isEmpty { return }
    }
}
