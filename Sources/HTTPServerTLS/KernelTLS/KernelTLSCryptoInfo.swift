/// What `setsockopt(SOL_TLS, TLS_TX)` takes: the protocol version, the cipher, the server's write
/// key and IV, and the sequence number of the next record.
public struct KernelTLSCryptoInfo: Equatable, Sendable {
    /// `TLS_1_2_VERSION` (0x0303) or `TLS_1_3_VERSION` (0x0304).
    public var version: UInt16
    /// The record protection the keys are for.
    public var cipher: KernelTLSCipher
    /// The server's write key (`KernelTLSCipher.keyLength` bytes).
    public var key: [UInt8]
    /// The kernel's `iv` field (see `KernelTLSCipher.ivLength`).
    public var iv: [UInt8]
    /// The kernel's `salt` field (see `KernelTLSCipher.saltLength`).
    public var salt: [UInt8]
    /// The sequence number of the next record the kernel writes.
    public var recordSequence: UInt64

    /// `TLS_1_2_VERSION`.
    public static let tls12Version: UInt16 = 0x0303
    /// `TLS_1_3_VERSION`.
    public static let tls13Version: UInt16 = 0x0304

    /// Keying material for `setsockopt(SOL_TLS, TLS_TX)`, each field as the kernel names it.
    public init(version: UInt16, cipher: KernelTLSCipher, key: [UInt8], iv: [UInt8], salt: [UInt8],
                recordSequence: UInt64) {
        self.version = version
        self.cipher = cipher
        self.key = key
        self.iv = iv
        self.salt = salt
        self.recordSequence = recordSequence
    }

    /// The bytes of the uapi `struct tls12_crypto_info_aes_gcm_128` (`_aes_gcm_256`,
    /// `_chacha20_poly1305`): version and cipher type as `__u16` in host byte order, then `iv`,
    /// `key`, `salt` and `rec_seq` (big-endian, as the record's nonce uses it). No padding: every
    /// field after the two `__u16` is a byte array.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + iv.count + key.count + salt.count + 8)
        withUnsafeBytes(of: version) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: cipher.kernelType) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: iv)
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: salt)
        withUnsafeBytes(of: recordSequence.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Overwrites the key material (best effort: copies made on the way may remain).
    mutating func wipe() {
        for i in key.indices { key[i] = 0 }
        for i in iv.indices { iv[i] = 0 }
        for i in salt.indices { salt[i] = 0 }
    }
}
