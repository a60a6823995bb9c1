// CONTRACT STUB — the HTTP1 helper replaces these bodies (and splits the file, one type per file).
// Signatures here are what HTTPServerKit codes against. HTTP1 is pure: no Glibc, no Foundation.

/// Limits the parser enforces. Python's defaults where Python has one.
public struct ParserLimits: Sendable, Equatable {
    /// Longest request line, CRLF excluded (Python: 65536) → 414.
    public var maxRequestLineLength: Int = 65536
    /// Longest header field line (Python: 65536) → 431.
    public var maxHeaderLineLength: Int = 65536
    /// Most header fields (Python: 100) → 431.
    public var maxHeaderCount: Int = 100
    /// Most bytes in the whole head (request line + fields) → 431.
    public var maxHeadSize: Int = 1 << 20
    /// Largest body, by Content-Length or chunked total → 413. nil: no limit.
    public var maxBodySize: Int? = nil
    /// Longest chunk-size line including extensions → 400.
    public var maxChunkLineLength: Int = 4096
    /// Most bytes of trailer section → 431.
    public var maxTrailerSize: Int = 65536
    public init() {}
}

/// How a parse failed, and the status a server answers with. Not an exhaustive enum: new kinds may come.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable {
        public let name: String
        public init(_ name: String) { self.name = name }
        /// Request line not `method SP target SP version` (or `GET SP target` for 0.9). 400.
        public static let badRequestLine = Kind("badRequestLine")
        /// Version not `HTTP/d.d`. 400 (Python: "Bad request version").
        public static let badVersion = Kind("badVersion")
        /// Two-word request line with a method other than GET. 400.
        public static let badHTTP09Method = Kind("badHTTP09Method")
        /// HTTP/2.0 or above. 505.
        public static let versionNotSupported = Kind("versionNotSupported")
        /// 414.
        public static let requestLineTooLong = Kind("requestLineTooLong")
        /// A header line longer than the limit. 431 (Python: "Line too long").
        public static let headerLineTooLong = Kind("headerLineTooLong")
        /// More fields than the limit. 431 (Python: "Too many headers").
        public static let tooManyHeaders = Kind("tooManyHeaders")
        /// Whole head over `maxHeadSize`. 431.
        public static let headTooLarge = Kind("headTooLarge")
        /// Malformed field line: bad name byte, whitespace before colon, obs-fold, control byte, bare CR. 400.
        public static let badHeader = Kind("badHeader")
        /// Bad or conflicting Content-Length, or Content-Length with Transfer-Encoding. 400.
        public static let badContentLength = Kind("badContentLength")
        /// A transfer coding other than chunked (last) — 501; malformed Transfer-Encoding — 400.
        public static let unsupportedTransferCoding = Kind("unsupportedTransferCoding")
        public static let badTransferEncoding = Kind("badTransferEncoding")
        /// Chunk size line, chunk data terminator, or trailer malformed. 400.
        public static let badChunk = Kind("badChunk")
        /// Body over `maxBodySize`. 413.
        public static let bodyTooLarge = Kind("bodyTooLarge")
        /// HTTP/1.1 request without exactly one Host (RFC 9112 §3.2). 400.
        public static let badHost = Kind("badHost")
    }
    public var kind: Kind
    /// The HTTP status to answer with.
    public var status: Int
    public init(_ kind: Kind, status: Int) { self.kind = kind; self.status = status }
    public var description: String { "\(kind.name) (\(status))" }
}

/// What one `parse` call found. `consumed` bytes are done with; the caller presents the rest again,
/// with more bytes appended, on the next call (the parser remembers how far it scanned).
public enum ParseStep: Equatable, Sendable {
    /// Nothing complete yet.
    case needMore(consumed: Int)
    /// The request head is complete; `parser.head` has its fields as ranges into this call's buffer.
    case head(consumed: Int)
    /// Body bytes (chunk framing removed) at `range` of this call's buffer; consumed through `range.upperBound`.
    case body(Range<Int>)
    /// The message is complete (trailers, if any, in `parser.trailers`, ranges into this call's buffer).
    case end(consumed: Int)
}

public struct HTTPVersion: Hashable, Sendable, Comparable {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    public static let http09 = HTTPVersion(major: 0, minor: 9)
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)
    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}

/// A field line: ranges into the buffer the head was parsed from. Value without leading/trailing OWS.
public struct HeaderField: Equatable, Sendable {
    public var name: Range<Int>
    public var value: Range<Int>
    public init(name: Range<Int>, value: Range<Int>) { self.name = name; self.value = value }
}

/// How the body is framed (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
}

/// A parsed request head. Ranges are into the buffer of the `parse` call that returned `.head`.
public struct RequestHead: Sendable {
    public var method: Range<Int> = 0..<0
    public var target: Range<Int> = 0..<0
    /// The version token as received (empty for HTTP/0.9).
    public var versionToken: Range<Int> = 0..<0
    /// The request line without CRLF.
    public var requestLine: Range<Int> = 0..<0
    public var version: HTTPVersion = .http09
    /// Fields in order, duplicates kept. Reused across requests (capacity kept).
    public var headers: [HeaderField] = []
    public var framing: BodyFraming = .none
    /// `Connection` tokens seen (case-insensitive).
    public var connectionClose: Bool = false
    public var connectionKeepAlive: Bool = false
    /// `Expect: 100-continue`.
    public var expectsContinue: Bool = false
    /// `Upgrade` present / method CONNECT — informational.
    public var isConnect: Bool = false
    public init() {}
}

/// The incremental RFC 9112 request parser. Resumable at every byte; allocation-free in steady state.
public struct RequestParser: Sendable {
    public var limits: ParserLimits
    public private(set) var head = RequestHead()
    /// Trailer fields of a chunked body, valid after `.end`.
    public private(set) var trailers: [HeaderField] = []
    public init(limits: ParserLimits = ParserLimits()) { self.limits = limits }
    /// Parses what it can of `bytes` (see `ParseStep`). After an error the parser must be `reset()`.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> ParseStep { fatalError("stub") }
    /// Ready for the next request on the connection (keeps capacity).
    public mutating func reset() { fatalError("stub") }
    /// True once part of a request has been seen (not just leading empty lines): EOF now is an error.
    public var isMidMessage: Bool { fatalError("stub") }
}

/// ASCII case-insensitive comparison of a range of `buffer` with a lowercase ASCII literal.
public func asciiCaseInsensitiveEquals(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool { fatalError("stub") }

/// An HTTP status: code, reason phrase and explanation, as Python's `http.HTTPStatus`.
public struct HTTPStatus: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var code: Int
    public init(_ code: Int) { self.code = code }
    public init(integerLiteral code: Int) { self.code = code }
    /// Python's phrase, e.g. "Not Found"; nil for unknown codes.
    public var phrase: String? { fatalError("stub") }
    /// Python's description, e.g. "Nothing matches the given URI".
    public var explanation: String? { fatalError("stub") }
    public var description: String { String(code) }
    /// Every code Python's http.HTTPStatus knows → (phrase, explanation). Python's `BaseHTTPRequestHandler.responses`.
    public static let table: [Int: (phrase: String, explanation: String)] = [:]
}

/// HTTP dates (RFC 9110 §5.6.7). Pure: callers pass seconds since the epoch.
public enum HTTPDate {
    /// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes), written into `out`.
    public static func format(epochSeconds: Int64, into out: inout [UInt8]) { fatalError("stub") }
    public static func string(epochSeconds: Int64) -> String { fatalError("stub") }
    /// Parses IMF-fixdate, RFC 850 and asctime forms; nil if malformed.
    public static func parse(_ text: String) -> Int64? { fatalError("stub") }
    /// Civil fields of a UTC time (for log lines and listings).
    public static func civil(epochSeconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) { fatalError("stub") }
}

/// Formats the `Date` header value at most once a second.
public struct DateCache: Sendable {
    public init() {}
    /// The 29 bytes of IMF-fixdate for `epochSeconds`, re-formatted only when the second changes.
    public mutating func bytes(epochSeconds: Int64) -> ArraySlice<UInt8> { fatalError("stub") }
}
