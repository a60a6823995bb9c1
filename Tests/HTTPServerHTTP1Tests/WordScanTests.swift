import HTTPServerHTTP1
import Testing

/// The eight-bytes-at-a-time scan of values and targets must find a bad byte at any offset.
@Suite struct WordScanTests {
    @Test(arguments: 0..<40)
    func badByteInValueAtEveryOffset(_ offset: Int) {
        for bad: UInt8 in [0x00, 0x01, 0x0B, 0x1F, 0x7F, 0x0A] {
            var value = Array(repeating: UInt8(ascii: "v"), count: 40)
            value[offset] = bad
            let raw = Array("GET / HTTP/1.1\r\nX: a".utf8) + value + Array("b\r\n\r\n".utf8)
            let outcome = ParserDriver.whole(raw)
            #expect(outcome.error?.kind == .badHeader, "byte \(bad) at \(offset)")
        }
        var value = Array(repeating: UInt8(0xC3), count: 40)
        value[offset] = 0x09
        let raw = Array("GET / HTTP/1.1\r\nX: a".utf8) + value + Array("b\r\n\r\n".utf8)
        #expect(ParserDriver.whole(raw).messages.first?.headers == [["X", "a" + latin1(value) + "b"]])
    }

    @Test(arguments: 0..<40)
    func badByteInTargetAtEveryOffset(_ offset: Int) {
        for bad: UInt8 in [0x00, 0x09, 0x0D, 0x7F, 0x20] {
            var target = Array(repeating: UInt8(ascii: "t"), count: 40)
            target[offset] = bad
            let raw = Array("GET /".utf8) + target + Array(" HTTP/1.1\r\n\r\n".utf8)
            let outcome = ParserDriver.whole(raw)
            #expect(outcome.error?.kind == .badRequestLine || outcome.error?.kind == .badVersion, "byte \(bad) at \(offset)")
        }
    }
}
