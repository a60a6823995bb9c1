import CHTTPServerOpenSSL
import Glibc
@testable import HTTPServerTLS
import Testing

/// The parts of kernel TLS that need no kernel: key derivation, the record counter and the
/// crypto_info layout.
@Suite struct KernelTLSTests {
    // MARK: Keys (RFC 8448 §3, the simple 1-RTT handshake, TLS_AES_128_GCM_SHA256)

    @Test func hkdfLabelsAreRFC8448s() {
        #expect(KernelTLSKeys.hkdfLabel("key", length: 16) == hex("00 10 09 74 6c 73 31 33 20 6b 65 79 00"))
        #expect(KernelTLSKeys.hkdfLabel("iv", length: 12) == hex("00 0c 08 74 6c 73 31 33 20 69 76 00"))
    }

    /// "{server} derive write traffic keys for application data", and for handshake data.
    @Test(arguments: [
        ("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
         "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"),
        ("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
         "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"),
    ])
    func tls13KeyAndIVFromTheTrafficSecret(_ vector: (secret: String, key: String, iv: String)) throws {
        let info = try #require(KernelTLSKeys.tls13(secret: hex(vector.secret), cipher: .aes128GCM, recordSequence: 7))
        #expect(info.version == 0x0304)
        #expect(info.key == hex(vector.key))
        // The kernel takes an AES-GCM IV as a 4-byte salt and an 8-byte iv.
        #expect(info.salt + info.iv == hex(vector.iv))
        #expect(info.salt.count == 4)
        #expect(info.recordSequence == 7)
        let chacha = try #require(KernelTLSKeys.tls13(secret: hex(vector.secret), cipher: .chacha20Poly1305,
                                                       recordSequence: 0))
        #expect(chacha.iv == hex(vector.iv))
        #expect(chacha.salt.isEmpty)
        #expect(chacha.key.count == 32)
    }

    @Test func keyLogLineGivesTheServerApplicationSecretOnly() {
        func parse(_ line: String) -> [UInt8]? {
            Array(line.utf8).withUnsafeBufferPointer { KernelTLSKeys.serverApplicationSecret(inKeyLogLine: $0) }
        }
        let random = String(repeating: "ab", count: 32)
        let secret = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
        #expect(parse("SERVER_TRAFFIC_SECRET_0 \(random) \(secret)") == hex(secret))
        #expect(parse("SERVER_TRAFFIC_SECRET_0 \(random) \(secret.uppercased())") == hex(secret))
        #expect(parse("CLIENT_TRAFFIC_SECRET_0 \(random) \(secret)") == nil)
        #expect(parse("SERVER_HANDSHAKE_TRAFFIC_SECRET \(random) \(secret)") == nil)
        #expect(parse("SERVER_TRAFFIC_SECRET_0 \(random) \(secret.dropLast())") == nil)
        #expect(parse("SERVER_TRAFFIC_SECRET_0 \(random) zz\(secret.dropFirst(2))") == nil)
        #expect(parse("SERVER_TRAFFIC_SECRET_0 \(random)") == nil)
    }

    // MARK: The record counter

    /// A handshake record, a ChangeCipherSpec, an encrypted Finished (explicit nonce 41), an
    /// application record (nonce 42) and one of 5 bytes (no nonce).
    static let stream: [UInt8] = {
        var bytes: [UInt8] = [22, 3, 3, 0, 4, 2, 0, 0, 0]
        bytes += [20, 3, 3, 0, 1, 1]
        bytes += [22, 3, 3, 0, 40] + [0, 0, 0, 0, 0, 0, 0, 41] + [UInt8](repeating: 0xEE, count: 32)
        bytes += [23, 3, 3, 0x01, 0x00] + [0, 0, 0, 0, 0, 0, 0, 42] + [UInt8](repeating: 0x17, count: 248)
        bytes += [23, 3, 3, 0, 5, 1, 2, 3, 4, 5]
        return bytes
    }()

    static func counted(_ pieces: [ArraySlice<UInt8>]) -> TLSRecordCounter {
        var counter = TLSRecordCounter()
        for piece in pieces { Array(piece).withUnsafeBytes { counter.consume($0) } }
        return counter
    }

    @Test func recordsAreCountedWholeSplitAtEveryIndexAndByteByByte() {
        let stream = Self.stream
        let whole = Self.counted([stream[...]])
        #expect(whole.recordCount == 5)
        #expect(whole.recordsSinceChangeCipherSpec == 3)
        #expect(whole.lastFragmentPrefix == nil)
        #expect(whole.isAtRecordBoundary)
        for split in 0...stream.count {
            let parts = Self.counted([stream[..<split], stream[split...]])
            #expect(parts.recordCount == 5 && parts.recordsSinceChangeCipherSpec == 3 && parts.isAtRecordBoundary,
                    "split at \(split)")
        }
        let bytes = Self.counted(stream.map { [$0][...] })
        #expect(bytes.recordCount == 5 && bytes.recordsSinceChangeCipherSpec == 3)
        // Without the last record, the last fragment began with the nonce 42.
        let four = Self.counted([stream[..<(stream.count - 10)]])
        #expect(four.recordCount == 4)
        #expect(four.lastFragmentPrefix == 42)
    }

    @Test func partialAndMalformedRecordsAreNotABoundary() {
        let stream = Self.stream
        for end in [1, 4, 5, 8, 9 + 3, 15 + 20] {
            let counter = Self.counted([stream[..<end]])
            #expect(!counter.isAtRecordBoundary, "ends at \(end)")
        }
        #expect(Self.counted([[99, 3, 3, 0, 1, 0][...]]).isMalformed)  // no such content type
        #expect(Self.counted([[23, 2, 0, 0, 1, 0][...]]).isMalformed)  // not version 3.x
        #expect(Self.counted([[23, 3, 3, 0x48, 0x01][...]]).isMalformed)  // longer than 2^14 + 2048
        let empty = Self.counted([[23, 3, 3, 0, 0][...]])
        #expect(empty.recordCount == 1 && empty.isAtRecordBoundary)
        #expect(Self.counted([]).recordsSinceChangeCipherSpec == nil)
    }

    // MARK: The uapi layout

    @Test(arguments: [KernelTLSCipher.aes128GCM, .aes256GCM, .chacha20Poly1305])
    func cryptoInfoBytesHaveTheKernelsLayout(_ cipher: KernelTLSCipher) {
        let layout = chso_ktls_layout(Int32(cipher.kernelType))
        let info = KernelTLSCryptoInfo(version: 0x0304, cipher: cipher,
                                       key: [UInt8](repeating: 0xAA, count: cipher.keyLength),
                                       iv: [UInt8](repeating: 0xBB, count: cipher.ivLength),
                                       salt: [UInt8](repeating: 0xCC, count: cipher.saltLength),
                                       recordSequence: 0x0102_0304_0506_0708)
        let bytes = info.bytes
        // sizeof and offsetof of the kernel's own structures (linux/tls.h).
        #expect(layout.size > 0)
        #expect(bytes.count == layout.size)
        #expect(bytes[layout.iv] == 0xBB && bytes[layout.key] == 0xAA)
        #expect(layout.key - layout.iv == cipher.ivLength)
        #expect(layout.salt - layout.key == cipher.keyLength)
        #expect(layout.recordSequence - layout.salt == cipher.saltLength)
        #expect(Array(bytes[layout.recordSequence...]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(bytes[0..<4].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) } == 0x0304)
        #expect(bytes[0..<4].withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self) } == cipher.kernelType)
        // The sizes the uapi header documents: 40 bytes for AES-128-GCM, 56 for the others.
        #expect(layout.size == (cipher == .aes128GCM ? 40 : 56))
    }

    @Test func suitesTheKernelTakes() {
        #expect(KernelTLSCipher(suite: 0x1301) == .aes128GCM)
        #expect(KernelTLSCipher(suite: 0x1302) == .aes256GCM)
        #expect(KernelTLSCipher(suite: 0x1303) == .chacha20Poly1305)
        #expect(KernelTLSCipher(suite: 0xC02B) == .aes128GCM)
        #expect(KernelTLSCipher(suite: 0xC030) == .aes256GCM)
        #expect(KernelTLSCipher(suite: 0xCCA8) == .chacha20Poly1305)
        #expect(KernelTLSCipher(suite: 0x1304) == nil)  // TLS_AES_128_CCM_SHA256
        #expect(KernelTLSCipher(suite: 0xC013) == nil)  // a CBC suite
    }
}

/// The bytes that hex digits (spaces ignored) stand for.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8).filter { $0 != UInt8(ascii: " ") }
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}
