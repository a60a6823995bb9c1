import CHTTPServerOpenSSL
import HTTPServerReactor

/// A lower transport that can hand the encryption of what is written to it to the kernel: a
/// `SocketTransport` with Linux kernel TLS. After `enableKernelTLS`, its `write`, `write(vectored:)`
/// and `sendFile` take plaintext.
public protocol KernelTLSCapable: Transport {
    /// Attaches kernel TLS and installs the transmit keys; throws if either `setsockopt` fails (the
    /// transport then still sends what it is given as it is).
    func enableKernelTLS(_ info: KernelTLSCryptoInfo) throws(SystemError)
    /// Sends one record of `contentType` (21, an alert) with `bytes` as its plaintext.
    func sendRecord(contentType: UInt8, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult
}

/// Linux kernel TLS on a connected TCP socket: `setsockopt(TCP_ULP, "tls")`, then
/// `setsockopt(SOL_TLS, TLS_TX)` with the uapi crypto_info; alerts go out as records of their own
/// type through `sendmsg` with a `TLS_SET_RECORD_TYPE` control message.
extension SocketTransport: KernelTLSCapable {
    public func enableKernelTLS(_ info: KernelTLSCryptoInfo) throws(SystemError) {
        let socket = fd
        guard socket >= 0 else { throw SystemError(call: "setsockopt", errno: EBADF) }
        if chso_ktls_attach(socket) != 0 {
            throw SystemError(call: "setsockopt(TCP_ULP)", errno: chso_errno())
        }
        // With the upper-layer protocol attached but no TLS_TX, the socket still sends what it is
        // given unchanged: the connection can go on in user space.
        var bytes = info.bytes
        defer { for i in bytes.indices { bytes[i] = 0 } }
        if chso_ktls_set_transmit(socket, bytes, UInt32(bytes.count)) != 0 {
            throw SystemError(call: "setsockopt(TLS_TX)", errno: chso_errno())
        }
    }

    public func sendRecord(contentType: UInt8, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        let socket = fd
        guard socket >= 0 else { throw SystemError(call: "sendmsg", errno: EBADF) }
        while true {
            let count = chso_ktls_send_record(socket, contentType, bytes.baseAddress, bytes.count)
            if count >= 0 { return .processed(count) }
            let error = chso_errno()
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(call: "sendmsg", errno: error)
        }
    }
}
