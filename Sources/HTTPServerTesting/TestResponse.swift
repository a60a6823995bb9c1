import HTTPServerKit

/// A response as a client reads it: the status line, the header fields in order, the body with its
/// framing removed, and the interim (1xx) responses that came before it.
///
/// ```swift
/// let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
/// #expect(response.status == 200)
/// #expect(response.headers["Content-Type"] == "text/plain")
/// #expect(response.bodyText == "Hello, World!")
/// ```
///
/// Header names and values are decoded as UTF-8, the encoding `sendHeader(_:_:)` writes them in.
/// A response to an HTTP/0.9 request has no status line and no headers: its `version` is
/// `"HTTP/0.9"`, its `status` 0, and its body everything the server wrote before it closed.
public struct TestResponse: Sendable, Equatable, CustomStringConvertible {
    /// The protocol version of the status line, e.g. `"HTTP/1.1"`.
    public var version: String
    /// The status code, e.g. 200.
    public var status: Int
    /// The reason phrase, e.g. `"OK"` (may be empty).
    public var reason: String
    /// The header fields, in the order they were sent, duplicates kept.
    public var headers: HTTPHeaders
    /// The body, with chunked framing removed.
    public var body: [UInt8]
    /// The trailer fields of a chunked body, in order.
    public var trailers = HTTPHeaders()
    /// The interim (1xx) responses, such as `100 Continue`, that came before this one, in order.
    public var interim: [TestResponse] = []
    /// The bytes of this response as they were written (its interim responses excluded).
    public var raw: [UInt8]

    /// Makes a response; ``ResponseReader`` makes them from bytes.
    public init(version: String, status: Int, reason: String, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], trailers: HTTPHeaders = HTTPHeaders(), interim: [TestResponse] = [],
                raw: [UInt8] = []) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.trailers = trailers
        self.interim = interim
        self.raw = raw
    }

    /// The body decoded as UTF-8.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Whether this is an interim (1xx) response.
    public var isInterim: Bool { (100..<200).contains(status) }

    /// Whether the response says the connection closes after it: `Connection: close`, or an
    /// HTTP/1.0 (or 0.9) response without `Connection: keep-alive`.
    public var saysClose: Bool {
        let tokens = headers.values(for: "Connection").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingWhitespace().lowercased() }
        if tokens.contains("close") { return true }
        if version == "HTTP/1.1" { return false }
        return !tokens.contains("keep-alive")
    }

    /// The status line and header section as text, e.g. for a failure message.
    public var headText: String {
        var text = status == 0 && version == "HTTP/0.9" ? "(HTTP/0.9: no status line)\r\n"
            : "\(version) \(status) \(reason)\r\n"
        for field in headers.fields { text += "\(field.name): \(field.value)\r\n" }
        return text
    }

    /// The status line and the sizes, e.g. `"HTTP/1.1 200 OK [4 headers, 13 body bytes]"`.
    public var description: String {
        var text = "\(version) \(status) \(reason) [\(headers.count) headers, \(body.count) body bytes]"
        if !interim.isEmpty { text = interim.map { "\($0.status)" }.joined(separator: ", ") + " then " + text }
        return text
    }

    /// Whether `other` is the same response except for the values of the fields named in
    /// `ignoring` (case-insensitive), which must still be present in both, in the same places.
    /// Use it to compare a response over the fake transport with one over a real socket, whose
    /// `Date` differs.
    public func matches(_ other: TestResponse, ignoring names: Set<String> = ["Date"]) -> Bool {
        let ignored = Set(names.map { $0.lowercased() })
        func same(_ a: HTTPHeaders, _ b: HTTPHeaders) -> Bool {
            guard a.count == b.count else { return false }
            return zip(a.fields, b.fields).allSatisfy { x, y in
                x.name.lowercased() == y.name.lowercased() && (ignored.contains(x.name.lowercased()) || x.value == y.value)
            }
        }
        return version == other.version && status == other.status && reason == other.reason
            && same(headers, other.headers) && body == other.body && same(trailers, other.trailers)
            && interim.count == other.interim.count
            && zip(interim, other.interim).allSatisfy { $0.matches($1, ignoring: names) }
    }

    /// Whether two responses are byte for byte the same, interim responses included.
    public static func == (a: TestResponse, b: TestResponse) -> Bool {
        a.raw == b.raw && a.matches(b, ignoring: []) && a.interim == b.interim
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
