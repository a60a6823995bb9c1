import HTTPServerHTTP1
import Testing

/// Deterministic SplitMix64, so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutated conformance inputs: nothing the peer sends may trap, and however the bytes are
/// split the outcome is the same.
@Suite struct MutationTests {
    static let seeds: [[UInt8]] = conformanceCases.map(\.raw).filter { $0.count < 2048 } + [
        Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\\\"c\"\r\nhello\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n\r\n".utf8),
    ]
    static let interesting: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x00, 0x3A, 0x3B, 0x22, 0x5C, 0x7F, 0xFF, 0x30, 0x41, 0x2C]

    @Test(arguments: 0..<8)
    func mutatedInputsNeverTrapAndSplitsAgree(_ batch: Int) {
        var rng = SplitMix64(state: UInt64(batch) &* 0x1234_5678_9ABC)
        var limits = ParserLimits()
        limits.maxHeaderCount = 8
        limits.maxRequestLineLength = 64
        limits.maxHeaderLineLength = 48
        limits.maxChunkLineLength = 16
        limits.maxTrailerSize = 40
        limits.maxBodySize = 64
        for _ in 0..<150 {
            var bytes = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                let byte = Bool.random(using: &rng)
                    ? Self.interesting[Int.random(in: 0..<Self.interesting.count, using: &rng)]
                    : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            for l in [ParserLimits(), limits] {
                let reference = ParserDriver.whole(bytes, limits: l)
                for _ in 0..<6 {
                    let a = Int.random(in: 0...bytes.count, using: &rng)
                    let b = Int.random(in: a...bytes.count, using: &rng)
                    let split = ParserDriver.run(bytes, cuts: [a, b], limits: l)
                    #expect(split == reference, "cuts \(a), \(b) of \(latin1(bytes).debugDescription)")
                }
                #expect(ParserDriver.bytewise(bytes, limits: l) == reference, "\(latin1(bytes).debugDescription)")
            }
        }
    }
}
