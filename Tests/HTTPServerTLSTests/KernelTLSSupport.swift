import CHTTPServerOpenSSL
import Glibc
@testable import HTTPServerTLS
import HTTPServerReactor

/// A `MemoryTransport` that does what Linux's kernel TLS does once `enableKernelTLS` is called:
/// it seals what is written into TLS records with the keys, IV and sequence number it was given
/// (RFC 8446 §5.2–5.3 for TLS 1.3; RFC 5288 §3 and RFC 7905 §2 for TLS 1.2), as the kernel's
/// `tls_sw` does. An OpenSSL client that can read those records proves the keys and the count.
final class KernelMemoryTransport: MemoryTransport, KernelTLSCapable {
    var info: KernelTLSCryptoInfo? { sealer?.info }
    private var sealer: KernelRecordSealer?
    /// errno for `enableKernelTLS` to fail with.
    var failure: Int32?
    private(set) var sendFileCalls = 0
    private(set) var controlRecords: [(type: UInt8, bytes: [UInt8])] = []

    func enableKernelTLS(_ info: KernelTLSCryptoInfo) throws(SystemError) {
        if let failure { throw SystemError(call: "setsockopt(TLS_TX)", errno: failure) }
        sealer = KernelRecordSealer(info)
    }

    override func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        guard info != nil else { return try super.write(bytes) }
        if isClosed { throw SystemError(call: "send", errno: EBADF) }
        var count = bytes.count
        if let window {
            if window == 0 { return .wouldBlock }
            count = min(count, window)
            self.window = window - count
        }
        var offset = 0
        while offset < count {
            let take = min(16_384, count - offset)
            written += sealer!.seal(type: 23, Array(bytes[offset..<offset + take]))
            offset += take
        }
        return .processed(count)
    }

    override func write(vectored buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SystemError) -> IOResult {
        guard info != nil else { return try super.write(vectored: buffers) }
        var joined: [UInt8] = []
        for buffer in buffers { joined += buffer }
        return try writeSealed(joined[...])
    }

    override func sendFile(_ fd: borrowing FileDescriptor, range: Range<Int>) throws(SystemError) -> IOResult {
        guard info != nil else { return try super.sendFile(fd, range: range) }
        sendFileCalls += 1
        var chunk = [UInt8](repeating: 0, count: min(range.count, 65_536))
        let count = pread(fd.rawValue, &chunk, chunk.count, off_t(range.lowerBound))
        if count <= 0 { return .processed(0) }
        return try writeSealed(chunk[..<count])
    }

    private func writeSealed(_ bytes: ArraySlice<UInt8>) throws(SystemError) -> IOResult {
        var result: Result<IOResult, SystemError> = .success(.processed(0))
        bytes.withUnsafeBytes { buffer in
            do throws(SystemError) {
                result = .success(try write(buffer))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    func sendRecord(contentType: UInt8, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        guard info != nil else { throw SystemError(call: "sendmsg", errno: EIO) }
        if window == 0 { return .wouldBlock }
        controlRecords.append((contentType, Array(bytes)))
        written += sealer!.seal(type: contentType, Array(bytes))
        return .processed(bytes.count)
    }
}

/// Seals records as Linux's kernel TLS (`tls_sw`) does from a crypto_info: TLS 1.3 nonces are the
/// IV (salt, then iv) with the sequence number XORed into its end, and the inner plaintext ends
/// with the real content type under an outer type 23; TLS 1.2 AES-GCM sends an explicit nonce that
/// starts at `iv` and counts up, ChaCha20-Poly1305 XORs the sequence number into `iv`.
struct KernelRecordSealer {
    let info: KernelTLSCryptoInfo
    private var sequence: UInt64
    private var explicitNonce: UInt64

    init(_ info: KernelTLSCryptoInfo) {
        self.info = info
        sequence = info.recordSequence
        explicitNonce = info.iv.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// One record, as the kernel would write it.
    mutating func seal(type: UInt8, _ plaintext: [UInt8]) -> [UInt8] {
        defer { sequence += 1 }
        var sequenceBytes: [UInt8] = []
        withUnsafeBytes(of: sequence.bigEndian) { sequenceBytes += $0 }
        if info.version == KernelTLSCryptoInfo.tls13Version {
            // The nonce is the IV (salt, then iv) with the sequence number XORed into its end; the
            // record's inner plaintext ends with its real type; the outer type is 23.
            var nonce = info.salt + info.iv
            for i in 0..<8 { nonce[4 + i] ^= sequenceBytes[i] }
            let inner = plaintext + [type]
            let length = inner.count + 16
            let header: [UInt8] = [23, 3, 3, UInt8(length >> 8), UInt8(length & 0xFF)]
            return header + Self.aead(info.cipher, key: info.key, nonce: nonce, aad: header, inner)
        }
        let additional = sequenceBytes + [type, 3, 3, UInt8(plaintext.count >> 8), UInt8(plaintext.count & 0xFF)]
        switch info.cipher {
        case .aes128GCM, .aes256GCM:
            var explicit: [UInt8] = []
            withUnsafeBytes(of: explicitNonce.bigEndian) { explicit += $0 }
            explicitNonce += 1
            let sealed = explicit + Self.aead(info.cipher, key: info.key, nonce: info.salt + explicit,
                                              aad: additional, plaintext)
            return [type, 3, 3, UInt8(sealed.count >> 8), UInt8(sealed.count & 0xFF)] + sealed
        case .chacha20Poly1305:
            var nonce = info.iv
            for i in 0..<8 { nonce[4 + i] ^= sequenceBytes[i] }
            let sealed = Self.aead(info.cipher, key: info.key, nonce: nonce, aad: additional, plaintext)
            return [type, 3, 3, UInt8(sealed.count >> 8), UInt8(sealed.count & 0xFF)] + sealed
        }
    }

    /// Ciphertext and the 16-byte tag.
    static func aead(_ cipher: KernelTLSCipher, key: [UInt8], nonce: [UInt8], aad: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        let evp: OpaquePointer? = switch cipher {
        case .aes128GCM: EVP_aes_128_gcm()
        case .aes256GCM: EVP_aes_256_gcm()
        case .chacha20Poly1305: EVP_chacha20_poly1305()
        }
        let context = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        EVP_EncryptInit_ex(context, evp, nil, nil, nil)
        EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_IVLEN, 12, nil)
        EVP_EncryptInit_ex(context, nil, nil, key, nonce)
        EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count))
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        if !plaintext.isEmpty { EVP_EncryptUpdate(context, &out, &length, plaintext, Int32(plaintext.count)) }
        var tail: Int32 = 0
        out.withUnsafeMutableBufferPointer { buffer in
            _ = EVP_EncryptFinal_ex(context, buffer.baseAddress! + plaintext.count, &tail)
            _ = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, buffer.baseAddress! + plaintext.count)
        }
        return out
    }
}
