import HTTPServerKit

/// A response as a client reads it: status line, header fields in order, body (framing removed),
/// and the interim (1xx) responses that came before it.
public struct TestResponse: Sendable, CustomStringConvertible {
    public var version: String
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var interim: [TestResponse] = []
    /// The raw bytes of this response (interim responses excluded).
    public var raw: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public var description: String {
        "\(version) \(status) \(reason) [\(headers.count) headers, \(body.count) body bytes]"
    }
}

/// Reads HTTP/1.x responses out of the bytes a server wrote.
public enum ResponseReader {
    public enum Failure: Error, Equatable {
        case malformed(String)
    }

    /// Parses complete responses from `bytes`. `isHEAD(i)` tells whether the i-th response answers
    /// a HEAD request (no body). With `atEOF`, a response without framing takes the rest.
    /// Returns the responses and the number of bytes they used.
    public static func parse(_ bytes: [UInt8], atEOF: Bool, isHEAD: (Int) -> Bool = { _ in false })
        throws(Failure) -> (responses: [TestResponse], consumed: Int) {
        var responses: [TestResponse] = []
        var interim: [TestResponse] = []
        var offset = 0
        while offset < bytes.count {
            guard let headEnd = find(bytes, [13, 10, 13, 10], from: offset) else { break }
            let headText = String(decoding: bytes[offset..<headEnd], as: UTF8.self)
            var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
                throw .malformed("status line \(statusLine.debugDescription)")
            }
            var headers = HTTPHeaders()
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { throw .malformed("header \(line.debugDescription)") }
                headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters())
            }
            var response = TestResponse(version: String(parts[0]), status: status,
                                        reason: parts.count > 2 ? String(parts[2]) : "",
                                        headers: headers, body: [], raw: [])
            var cursor = headEnd + 4
            if status < 200 {
                response.raw = Array(bytes[offset..<cursor])
                interim.append(response)
                offset = cursor
                continue
            }
            let index = responses.count
            if isHEAD(index) || status == 204 || status == 304 {
                // no body
            } else if let te = headers["Transfer-Encoding"], te.lowercased().contains("chunked") {
                guard let (body, end) = try dechunk(bytes, from: cursor) else { break }
                response.body = body
                cursor = end
            } else if let length = headers["Content-Length"].flatMap({ Int($0) }) {
                guard bytes.count - cursor >= length else { break }
                response.body = Array(bytes[cursor..<(cursor + length)])
                cursor += length
            } else {
                guard atEOF else { break }
                response.body = Array(bytes[cursor...])
                cursor = bytes.count
            }
            response.raw = Array(bytes[offset..<cursor])
            response.interim = interim
            interim = []
            responses.append(response)
            offset = cursor
        }
        let consumed = responses.last.map { _ in offset } ?? 0
        return (responses, interim.isEmpty ? consumed : consumed)
    }

    private static func dechunk(_ bytes: [UInt8], from start: Int) throws(Failure) -> ([UInt8], Int)? {
        var body: [UInt8] = []
        var cursor = start
        while true {
            guard let lineEnd = find(bytes, [13, 10], from: cursor) else { return nil }
            let line = String(decoding: bytes[cursor..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else { throw .malformed("chunk size \(line)") }
            cursor = lineEnd + 2
            if size == 0 {
                // trailers until an empty line
                while true {
                    guard let end = find(bytes, [13, 10], from: cursor) else { return nil }
                    let empty = end == cursor
                    cursor = end + 2
                    if empty { return (body, cursor) }
                }
            }
            guard bytes.count >= cursor + size + 2 else { return nil }
            body += bytes[cursor..<(cursor + size)]
            cursor += size + 2
        }
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
