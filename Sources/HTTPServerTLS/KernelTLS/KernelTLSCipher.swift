/// An AEAD cipher that Linux's kernel TLS encrypts with (uapi `linux/tls.h`), and the sizes of its
/// keying material there.
public enum KernelTLSCipher: Equatable, Sendable {
    /// AES-128-GCM (`TLS_CIPHER_AES_GCM_128`).
    case aes128GCM
    /// AES-256-GCM (`TLS_CIPHER_AES_GCM_256`).
    case aes256GCM
    /// ChaCha20-Poly1305 (`TLS_CIPHER_CHACHA20_POLY1305`).
    case chacha20Poly1305

    /// The cipher of a suite by its IANA number (`SSL_CIPHER_get_protocol_id`); nil for one the
    /// kernel does not take.
    public init?(suite: UInt16) {
        switch suite {
        case 0x1301, 0xC02B, 0xC02F:  // TLS_AES_128_GCM_SHA256, ECDHE-{ECDSA,RSA}-AES128-GCM-SHA256
            self = .aes128GCM
        case 0x1302, 0xC02C, 0xC030:  // TLS_AES_256_GCM_SHA384, ECDHE-{ECDSA,RSA}-AES256-GCM-SHA384
            self = .aes256GCM
        case 0x1303, 0xCCA8, 0xCCA9:  // TLS_CHACHA20_POLY1305_SHA256, ECDHE-{RSA,ECDSA}-CHACHA20-POLY1305
            self = .chacha20Poly1305
        default:
            return nil
        }
    }

    /// `TLS_CIPHER_AES_GCM_128`, `TLS_CIPHER_AES_GCM_256`, `TLS_CIPHER_CHACHA20_POLY1305`.
    public var kernelType: UInt16 {
        switch self {
        case .aes128GCM: 51
        case .aes256GCM: 52
        case .chacha20Poly1305: 54
        }
    }

    /// Bytes of the write key.
    public var keyLength: Int {
        switch self {
        case .aes128GCM: 16
        case .aes256GCM, .chacha20Poly1305: 32
        }
    }

    /// Bytes of the kernel's `iv` field: for AES-GCM the 8 bytes after the salt (TLS 1.2's
    /// explicit nonce), for ChaCha20-Poly1305 the whole 12-byte IV.
    public var ivLength: Int {
        switch self {
        case .aes128GCM, .aes256GCM: 8
        case .chacha20Poly1305: 12
        }
    }

    /// Bytes of the kernel's `salt` field: the implicit part of an AES-GCM nonce.
    public var saltLength: Int {
        switch self {
        case .aes128GCM, .aes256GCM: 4
        case .chacha20Poly1305: 0
        }
    }

    /// The hash of the suite's PRF or HKDF, as OpenSSL names it.
    var digest: String {
        switch self {
        case .aes128GCM, .chacha20Poly1305: "SHA256"
        case .aes256GCM: "SHA384"
        }
    }

    /// Bytes of the IV a TLS 1.2 key block holds per direction (RFC 5288 §3: the salt; RFC 7905 §2:
    /// the whole nonce).
    var tls12FixedIVLength: Int {
        switch self {
        case .aes128GCM, .aes256GCM: 4
        case .chacha20Poly1305: 12
        }
    }
}
