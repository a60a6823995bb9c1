import HTTPServerHTTP1
import Testing

/// Cases found by the parser fuzz target (Fuzz/Sources/FuzzParser): whole, split and byte by
/// byte must agree.
@Suite struct EmptyLineLimitTests {
    /// Leading empty lines count towards `maxHeadSize` (RFC 9112 §2.2 allows ignoring them, not
    /// an unbounded number of them). They were dropped between calls and forgotten, so a head
    /// that was 431 whole passed when it arrived in pieces, and a peer sending nothing but CRLFs
    /// in small pieces was never stopped.
    @Test func leadingEmptyLinesCountTowardsTheHeadLimitHoweverTheyArrive() {
        var limits = ParserLimits.hostOptional
        limits.maxHeadSize = 64
        let raw = latin1Bytes(String(repeating: "\r\n", count: 40) + "GET / HTTP/1.1\r\n\r\n")
        let outcome = ParserDriver.allWays(raw, limits: limits)
        #expect(outcome.error?.kind == .headTooLarge)
        #expect(outcome.messages.isEmpty)
    }

    @Test func emptyLinesWithinTheLimitAreStillIgnoredHoweverTheyArrive() {
        var limits = ParserLimits.hostOptional
        limits.maxHeadSize = 64
        let raw = latin1Bytes(String(repeating: "\r\n", count: 10) + "GET / HTTP/1.1\r\n\r\n")
        let outcome = ParserDriver.allWays(raw, limits: limits)
        #expect(outcome.error == nil)
        #expect(outcome.messages.count == 1)
    }

    @Test func aStreamOfEmptyLinesIsCutOffEvenInSmallPieces() {
        var parser = RequestParser()
        let lines = [UInt8](repeating: 0, count: 4096).enumerated().map { $0.offset % 2 == 0 ? UInt8(13) : UInt8(10) }
        var error: ParseError?
        for _ in 0..<((1 << 20) / 4096 + 2) {
            error = lines.withUnsafeBytes { buffer -> ParseError? in
                do throws(ParseError) {
                    _ = try parser.parse(buffer)
                    return nil
                } catch {
                    return error
                }
            }
            if error != nil { break }
        }
        #expect(error?.kind == .headTooLarge)
    }
}
