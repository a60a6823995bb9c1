import CHTTPServerOpenSSL

/// The server's write key and IV for kernel TLS, derived from what OpenSSL makes public: in TLS 1.3
/// the server application traffic secret (from the key log callback), in TLS 1.2 the master secret
/// and the two randoms.
enum KernelTLSKeys {
    /// RFC 8446 §7.1's HkdfLabel: the output length (2 bytes), "tls13 " + `label` and `context`,
    /// each with a one-byte length.
    static func hkdfLabel(_ label: String, context: [UInt8] = [], length: Int) -> [UInt8] {
        let fullLabel = Array("tls13 ".utf8) + Array(label.utf8)
        var bytes: [UInt8] = [UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
        bytes.append(UInt8(fullLabel.count))
        bytes.append(contentsOf: fullLabel)
        bytes.append(UInt8(context.count))
        bytes.append(contentsOf: context)
        return bytes
    }

    /// RFC 8446 §7.1's HKDF-Expand-Label(secret, label, context, length); nil if OpenSSL fails.
    static func expandLabel(secret: [UInt8], _ label: String, context: [UInt8] = [], length: Int,
                            digest: String) -> [UInt8]? {
        let info = hkdfLabel(label, context: context, length: length)
        var out = [UInt8](repeating: 0, count: length)
        let ok = chso_hkdf_expand(digest, secret, secret.count, info, info.count, &out, length)
        return ok == 1 ? out : nil
    }

    /// TLS 1.3 (RFC 8446 §7.3): key = HKDF-Expand-Label(secret, "key", "", key length), iv =
    /// HKDF-Expand-Label(secret, "iv", "", 12). For AES-GCM the kernel takes the IV's first 4 bytes
    /// as `salt` and the other 8 as `iv`; for ChaCha20-Poly1305 all 12 as `iv`.
    static func tls13(secret: [UInt8], cipher: KernelTLSCipher, recordSequence: UInt64) -> KernelTLSCryptoInfo? {
        guard let key = expandLabel(secret: secret, "key", length: cipher.keyLength, digest: cipher.digest),
              let iv = expandLabel(secret: secret, "iv", length: 12, digest: cipher.digest)
        else { return nil }
        return KernelTLSCryptoInfo(version: KernelTLSCryptoInfo.tls13Version, cipher: cipher, key: key,
                                   iv: Array(iv[cipher.saltLength...]), salt: Array(iv[..<cipher.saltLength]),
                                   recordSequence: recordSequence)
    }

    /// TLS 1.2 (RFC 5246 §6.3): key_block = PRF(master_secret, "key expansion", server_random +
    /// client_random), cut into client and server MAC keys (none for AEAD suites), write keys and
    /// IVs, in that order; the server's are the second of each. For AES-GCM the IV is the nonce's
    /// implicit part (`salt`), and `explicitNonce` is the explicit part of the next record (RFC 5288
    /// §3: unique per record; the kernel sends it and counts up from it).
    static func tls12(masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8],
                      cipher: KernelTLSCipher, recordSequence: UInt64, explicitNonce: UInt64) -> KernelTLSCryptoInfo? {
        let keyLength = cipher.keyLength
        let ivLength = cipher.tls12FixedIVLength
        var block = [UInt8](repeating: 0, count: 2 * keyLength + 2 * ivLength)
        let seed = Array("key expansion".utf8) + serverRandom + clientRandom
        guard chso_tls12_prf(cipher.digest, masterSecret, masterSecret.count, seed, seed.count,
                             &block, block.count) == 1 else { return nil }
        defer { for i in block.indices { block[i] = 0 } }
        let key = Array(block[keyLength..<2 * keyLength])
        let fixedIV = Array(block[(2 * keyLength + ivLength)...])
        switch cipher {
        case .aes128GCM, .aes256GCM:
            var nonce: [UInt8] = []
            withUnsafeBytes(of: explicitNonce.bigEndian) { nonce.append(contentsOf: $0) }
            return KernelTLSCryptoInfo(version: KernelTLSCryptoInfo.tls12Version, cipher: cipher, key: key,
                                       iv: nonce, salt: fixedIV, recordSequence: recordSequence)
        case .chacha20Poly1305:
            return KernelTLSCryptoInfo(version: KernelTLSCryptoInfo.tls12Version, cipher: cipher, key: key,
                                       iv: fixedIV, salt: [], recordSequence: recordSequence)
        }
    }

    /// The secret in a key log line `SERVER_TRAFFIC_SECRET_0 <client random> <secret>` (hex, as
    /// NSS's key log format writes it); nil for any other line.
    static func serverApplicationSecret(inKeyLogLine line: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let prefix = "SERVER_TRAFFIC_SECRET_0 ".utf8
        guard line.count > prefix.count, line.starts(with: prefix) else { return nil }
        var fields = line[prefix.count...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            .makeIterator()
        guard fields.next() != nil, let hex = fields.next(), fields.next() == nil,
              hex.count % 2 == 0, (64...128).contains(hex.count) else { return nil }
        var secret: [UInt8] = []
        secret.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let high = hexValue(hex[index]), let low = hexValue(hex[index + 1]) else { return nil }
            secret.append(high << 4 | low)
            index += 2
        }
        return secret
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
