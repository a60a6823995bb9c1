/// A request built from its parts, serialized by the rules a careful client follows.
///
/// ```swift
/// let upload = TestRequest.post("/upload", body: "hello", headers: [("Content-Type", "text/plain")])
/// let response = try client.send(upload)
///
/// var slow = TestRequest.post("/upload", body: "hello")
/// slow.framing = .chunked(size: 2)       // 2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n
/// slow.expectsContinue = true            // head first; the body after 100 Continue
/// ```
///
/// Unless you say otherwise it adds `Host: localhost` to an HTTP/1.1 request without a `Host`
/// field, and frames a body with `Content-Length`. Headers are written as given, so a test can
/// send what no real client would (two `Content-Length` fields, a name with a space).
public struct TestRequest: Sendable, CustomStringConvertible {
    /// How the body is framed.
    public enum Framing: Sendable, Equatable {
        /// `Content-Length` when there is a body, or when the method is `POST`, `PUT` or `PATCH`;
        /// nothing otherwise.
        case automatic
        /// `Content-Length` with the body's size, even for an empty body.
        case contentLength
        /// `Transfer-Encoding: chunked`, the body cut in chunks of `size` bytes (nil: one chunk),
        /// followed by the request's `trailers`.
        case chunked(size: Int? = nil)
        /// No framing field: the body (if any) is sent after the head as it is. The server takes
        /// such bytes for the next request, which is what some tests want.
        case none
    }

    /// The method token, e.g. `"GET"`.
    public var method: String
    /// The request-target, e.g. `"/search?q=swift"`.
    public var target: String
    /// The version, e.g. `"HTTP/1.1"`; empty for an HTTP/0.9 request line (`GET /`).
    public var version: String
    /// Header fields, in order, written as given.
    public var headers: [(name: String, value: String)]
    /// The value of the `Host` field added to an HTTP/1.1 request that has none; nil adds none.
    public var host: String?
    /// The body (before framing).
    public var body: [UInt8]
    /// How the body is framed.
    public var framing: Framing
    /// Trailer fields, sent after a chunked body.
    public var trailers: [(name: String, value: String)]
    /// Adds `Expect: 100-continue`. ``TestClient/send(_:delivery:)-(TestRequest,_)`` then sends
    /// the head, waits for the server's answer, and sends the body only if no final response came.
    public var expectsContinue: Bool

    /// A request from its parts.
    public init(_ method: String = "GET", _ target: String = "/", version: String = "HTTP/1.1",
                headers: [(name: String, value: String)] = [], body: [UInt8] = [], framing: Framing = .automatic,
                trailers: [(name: String, value: String)] = [], expectsContinue: Bool = false,
                host: String? = "localhost") {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.framing = framing
        self.trailers = trailers
        self.expectsContinue = expectsContinue
        self.host = host
    }

    /// A `GET` request.
    public static func get(_ target: String, headers: [(name: String, value: String)] = []) -> TestRequest {
        TestRequest("GET", target, headers: headers)
    }

    /// A `HEAD` request.
    public static func head(_ target: String, headers: [(name: String, value: String)] = []) -> TestRequest {
        TestRequest("HEAD", target, headers: headers)
    }

    /// A `POST` request with a body.
    public static func post(_ target: String, body: [UInt8], headers: [(name: String, value: String)] = [],
                            framing: Framing = .automatic, expectsContinue: Bool = false) -> TestRequest {
        TestRequest("POST", target, headers: headers, body: body, framing: framing, expectsContinue: expectsContinue)
    }

    /// A `POST` request with a text body (UTF-8).
    public static func post(_ target: String, body: String, headers: [(name: String, value: String)] = [],
                            framing: Framing = .automatic, expectsContinue: Bool = false) -> TestRequest {
        post(target, body: Array(body.utf8), headers: headers, framing: framing, expectsContinue: expectsContinue)
    }

    /// Adds a header field after the others.
    public mutating func addHeader(_ name: String, _ value: String) {
        headers.append((name, value))
    }

    /// The request line and header section, up to and including the empty line.
    public var headBytes: [UInt8] {
        var text = version.isEmpty ? "\(method) \(target)\r\n" : "\(method) \(target) \(version)\r\n"
        if version.isEmpty { return Array(text.utf8) }  // HTTP/0.9: no header section
        var fields = headers
        if let host, version == "HTTP/1.1", !fields.contains(where: { $0.name.lowercased() == "host" }) {
            fields.insert(("Host", host), at: 0)
        }
        switch effectiveFraming {
        case .contentLength:
            fields.append(("Content-Length", String(body.count)))
        case .chunked:
            fields.append(("Transfer-Encoding", "chunked"))
        case .automatic, .none:
            break
        }
        if expectsContinue { fields.append(("Expect", "100-continue")) }
        for field in fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The body as it goes on the wire (chunked, if so framed).
    public var bodyBytes: [UInt8] {
        guard case .chunked(let size) = effectiveFraming else { return body }
        var out: [UInt8] = []
        var offset = 0
        let step = max(1, size ?? body.count)
        while offset < body.count {
            let end = min(body.count, offset + step)
            out += Array(String(end - offset, radix: 16).utf8) + [13, 10] + body[offset..<end] + [13, 10]
            offset = end
        }
        out += Array("0\r\n".utf8)
        for field in trailers { out += Array("\(field.name): \(field.value)\r\n".utf8) }
        out += [13, 10]
        return out
    }

    /// The whole request as it goes on the wire.
    public var bytes: [UInt8] { headBytes + bodyBytes }

    /// The framing in effect, `.automatic` resolved.
    private var effectiveFraming: Framing {
        guard framing == .automatic else { return framing }
        return !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) ? .contentLength : .none
    }

    /// The head as an escaped string, and the body's size.
    public var description: String {
        String(decoding: headBytes, as: UTF8.self).debugDescription + " + \(body.count) body bytes"
    }
}
