/// A field line: ranges into the buffer the head was parsed from. Value without leading/trailing OWS.
public struct HeaderField: Equatable, Sendable {
    /// The field name's bytes, e.g. `Content-Length`, as received (case kept).
    public var name: Range<Int>
    /// The field value's bytes, leading and trailing whitespace excluded; empty for an empty value.
    public var value: Range<Int>
    /// A field line from its name and value ranges.
    public init(name: Range<Int>, value: Range<Int>) { self.name = name; self.value = value }
}

/// How the body is framed (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    /// No body: neither Content-Length nor Transfer-Encoding (and always for CONNECT).
    case none
    /// A body of exactly this many bytes (`Content-Length`).
    case contentLength(Int)
    /// A chunked body (`Transfer-Encoding: chunked`), ended by a zero-size chunk and optional trailers.
    case chunked
}

/// A parsed request head. Ranges are into the buffer of the `parse` call that returned `.head`.
public struct RequestHead: Sendable {
    /// The method token, e.g. `GET` (Python's `command`).
    public var method: Range<Int> = 0..<0
    /// The request-target as received, e.g. `/index.html?q=1` (Python's `path`).
    public var target: Range<Int> = 0..<0
    /// The version token as received (empty for HTTP/0.9).
    public var versionToken: Range<Int> = 0..<0
    /// The request line without CRLF.
    public var requestLine: Range<Int> = 0..<0
    /// The parsed version; `.http09` for a two-word request line (Python's `request_version`, parsed).
    public var version: HTTPVersion = .http09
    /// Fields in order, duplicates kept. Reused across requests (capacity kept).
    public var headers: [HeaderField] = []
    /// How the body is framed, decided from Content-Length and Transfer-Encoding (RFC 9112 §6.3).
    public var framing: BodyFraming = .none
    /// A `Connection` field had the token `close` (case-insensitive).
    public var connectionClose: Bool = false
    /// A `Connection` field had the token `keep-alive` (case-insensitive).
    public var connectionKeepAlive: Bool = false
    /// `Expect: 100-continue`.
    public var expectsContinue: Bool = false
    /// The method is CONNECT (informational; the parser gives a CONNECT request no body).
    public var isConnect: Bool = false
    /// The request's authority (`uri-host [ ":" port ]`): the target's for absolute-form and
    /// authority-form (RFC 9112 §3.2.2: it wins over Host), else the Host field's value; nil
    /// without either (HTTP/1.0 without Host, or `requireHost` off).
    public var authority: Range<Int>? = nil
    /// An empty head, as the parser starts each request.
    public init() {}

    /// The client's side of the keep-alive rule (RFC 9112 §9.3, as Python reads it): the client
    /// leaves the connection open after this request in HTTP/1.1 unless it sends
    /// `Connection: close`; in HTTP/1.0 only with `Connection: keep-alive`; never in HTTP/0.9.
    /// `close` wins over `keep-alive` when both are listed.
    public var clientKeepsAlive: Bool {
        if connectionClose { return false }
        if version >= .http11 { return true }
        return version == .http10 && connectionKeepAlive
    }

    /// Whether the connection stays open after this request, as far as the request decides it:
    /// `clientKeepsAlive`, and never for CONNECT (its connection would become a tunnel).
    public var isKeepAlive: Bool { !isConnect && clientKeepsAlive }

    /// The first field named `lowercaseName` (ASCII case-insensitive), with its ranges into `buffer`.
    public func firstField(named lowercaseName: StaticString, in buffer: UnsafeRawBufferPointer) -> HeaderField? {
        for field in headers where asciiCaseInsensitiveEquals(buffer, field.name, lowercaseName) {
            return field
        }
        return nil
    }

    /// Clears every field, keeping the headers array's capacity.
    mutating func clear() {
        method = 0..<0
        target = 0..<0
        versionToken = 0..<0
        requestLine = 0..<0
        version = .http09
        headers.removeAll(keepingCapacity: true)
        framing = .none
        connectionClose = false
        connectionKeepAlive = false
        expectsContinue = false
        isConnect = false
        authority = nil
    }
}
