import FuzzSupport

// The output check works on bytes, without `String`: it runs on every input, and splitting and
// lowercasing each head line as `String`s took a tenth of the run (perf, volume build).
extension FuzzRun {
    /// The output is responses whose status lines are the ones sent, in order, and nothing
    /// follows a response that ends the connection.
    func checkOutput(_ out: [UInt8]) {
        var position = 0
        var recordIndex = 0
        while position < out.count {
            guard out[position...].starts(with: "HTTP/".utf8) else {
                // An HTTP/0.9 response: no status line, the body runs to the close.
                return
            }
            guard let headEnd = find(out, [13, 10, 13, 10], from: position) else {
                return  // a head cut off by the close
            }
            let code = headEnd - position >= 12 ? decimal(out[(position + 9)..<(position + 12)]) : nil
            check(code != nil, "malformed status line \(String(decoding: out[position..<min(headEnd, position + 40)], as: UTF8.self))")
            check(recordIndex < records.count, "a status line the handler never sent: \(code!)")
            let record = records[recordIndex]
            check(record.code == code!, "status \(code!) on the wire, \(record.code) sent (response \(recordIndex))")
            recordIndex += 1
            var contentLength: Int?
            var isChunked = false
            var closes = false
            // The header lines: from after the status line's LF to the head's final CRLF.
            var lineStart = (find(out, [10], from: position) ?? headEnd) + 1
            while lineStart < headEnd + 2 {
                let lineEnd = find(out, [10], from: lineStart) ?? headEnd + 2
                let line = out[lineStart..<lineEnd]
                if let value = fieldValue(line, "content-length:") {
                    contentLength = decimal(trimmed(value))
                } else if let value = fieldValue(line, "transfer-encoding:") {
                    isChunked = containsFolded(value, "chunked")
                } else if let value = fieldValue(line, "connection:") {
                    closes = closes || containsFolded(value, "close")
                }
                lineStart = lineEnd + 1
            }
            var end = headEnd + 4
            if code! < 200 {
                position = end
                continue
            }
            if record.isHEAD || code == 204 || code == 304 {
                // no body
            } else if isChunked {
                guard let chunkedEnd = Self.endOfChunkedBody(out, from: end) else { return }
                end = chunkedEnd
            } else if let length = contentLength {
                guard out.count - end >= length else { return }  // cut off by the close
                end += length
            } else {
                return  // delimited by the close
            }
            position = end
            if code! >= 400 || closes {
                check(position == out.count, "\(out.count - position) bytes after a \(code!) response that closes the connection")
            }
        }
    }

    static func endOfChunkedBody(_ out: [UInt8], from start: Int) -> Int? {
        var cursor = start
        while true {
            guard let lineEnd = find(out, [13, 10], from: cursor) else { return nil }
            let size = hexadecimal(out[cursor..<lineEnd])
            check(size != nil, "malformed chunk size line")
            cursor = lineEnd + 2
            if size == 0 {
                guard out.count >= cursor + 2 else { return nil }
                return cursor + 2
            }
            cursor += size! + 2
            if cursor > out.count { return nil }
        }
    }
}

func find(_ bytes: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
    var i = start
    while i + needle.count <= bytes.count {
        if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
        i += 1
    }
    return nil
}

/// ASCII lowercase.
func folded(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

/// What follows `name` (lowercase, with its colon) when `line` starts with it in any case.
func fieldValue(_ line: ArraySlice<UInt8>, _ name: StaticString) -> ArraySlice<UInt8>? {
    let count = name.utf8CodeUnitCount
    guard line.count >= count else { return nil }
    for i in 0..<count where folded(line[line.startIndex + i]) != name.utf8Start[i] { return nil }
    return line.dropFirst(count)
}

/// `bytes` contains `word` (lowercase) in any case.
func containsFolded(_ bytes: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
    let count = word.utf8CodeUnitCount
    guard bytes.count >= count else { return false }
    outer: for start in bytes.startIndex...(bytes.endIndex - count) {
        for i in 0..<count where folded(bytes[start + i]) != word.utf8Start[i] { continue outer }
        return true
    }
    return false
}

/// `bytes` without leading and trailing SP and CR.
func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var s = bytes
    while let f = s.first, f == 32 || f == 13 { s = s.dropFirst() }
    while let l = s.last, l == 32 || l == 13 { s = s.dropLast() }
    return s
}

/// The value of a non-empty run of decimal digits; nil for anything else, or past Int.max.
func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var value = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        let (times, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
        guard !o1 && !o2 else { return nil }
        value = sum
    }
    return value
}

/// The value of a non-empty run of hexadecimal digits; nil for anything else, or past Int.max.
func hexadecimal(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty, bytes.count <= 15 else { return nil }
    var value = 0
    for byte in bytes {
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | Int(digit)
    }
    return value
}
