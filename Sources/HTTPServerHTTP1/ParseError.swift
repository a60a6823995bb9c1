/// How a parse failed, and the status a server answers with.
///
/// Not an exhaustive enum: new kinds may come without breaking callers.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of failure; compare with the static members.
    public struct Kind: Hashable, Sendable {
        /// The kind's name, e.g. "badHeader", as `description` shows it.
        public let name: String
        /// A kind with this name. The parser uses only the static members; two kinds are equal when
        /// their names are.
        public init(_ name: String) { self.name = name }
        /// Request line not `method SP target SP version` (or `GET SP target` for 0.9),
        /// or a request-target whose form does not fit the method (RFC 9112 §3.2). 400.
        public static let badRequestLine = Kind("badRequestLine")
        /// Version not `HTTP/d.d`. 400 (Python: "Bad request version").
        public static let badVersion = Kind("badVersion")
        /// Two-word request line with a method other than GET. 400.
        public static let badHTTP09Method = Kind("badHTTP09Method")
        /// HTTP/2.0 or above. 505.
        public static let versionNotSupported = Kind("versionNotSupported")
        /// Request line longer than `ParserLimits.maxRequestLineLength`. 414.
        public static let requestLineTooLong = Kind("requestLineTooLong")
        /// Method token longer than `ParserLimits.maxMethodLength`. 501.
        public static let methodTooLong = Kind("methodTooLong")
        /// A header line longer than the limit. 431 (Python: "Line too long").
        public static let headerLineTooLong = Kind("headerLineTooLong")
        /// More fields than the limit. 431 (Python: "Too many headers").
        public static let tooManyHeaders = Kind("tooManyHeaders")
        /// Whole head over `maxHeadSize`. 431.
        public static let headTooLarge = Kind("headTooLarge")
        /// Trailer section over `maxTrailerSize`. 431.
        public static let trailersTooLarge = Kind("trailersTooLarge")
        /// Malformed field line: bad name byte, whitespace before colon, obs-fold, control byte,
        /// bare CR or bare LF. 400.
        public static let badHeader = Kind("badHeader")
        /// Bad or conflicting Content-Length, or Content-Length with Transfer-Encoding. 400.
        public static let badContentLength = Kind("badContentLength")
        /// A transfer coding other than chunked (which must come last). 501.
        public static let unsupportedTransferCoding = Kind("unsupportedTransferCoding")
        /// Malformed Transfer-Encoding, chunked not last or repeated, or Transfer-Encoding
        /// in an HTTP/1.0 request (RFC 9112 §6.1, §6.3). 400.
        public static let badTransferEncoding = Kind("badTransferEncoding")
        /// Chunk size line, chunk data terminator, or trailer malformed. 400.
        public static let badChunk = Kind("badChunk")
        /// Body over `maxBodySize`. 413.
        public static let bodyTooLarge = Kind("bodyTooLarge")
        /// More than one Host, one that is not `uri-host [ ":" port ]`, or none on HTTP/1.1 when
        /// `requireHost` (RFC 9112 §3.2). 400.
        public static let badHost = Kind("badHost")
    }
    /// What went wrong; compare with the static members of `Kind`.
    public var kind: Kind
    /// The HTTP status to answer with.
    public var status: Int
    /// An error of this kind, answered with `status`.
    public init(_ kind: Kind, status: Int) { self.kind = kind; self.status = status }
    /// The kind's name and the status, e.g. "badHeader (400)".
    public var description: String { "\(kind.name) (\(status))" }

    static let badRequestLine = ParseError(.badRequestLine, status: 400)
    static let badVersion = ParseError(.badVersion, status: 400)
    static let badHTTP09Method = ParseError(.badHTTP09Method, status: 400)
    static let versionNotSupported = ParseError(.versionNotSupported, status: 505)
    static let requestLineTooLong = ParseError(.requestLineTooLong, status: 414)
    static let methodTooLong = ParseError(.methodTooLong, status: 501)
    static let headerLineTooLong = ParseError(.headerLineTooLong, status: 431)
    static let tooManyHeaders = ParseError(.tooManyHeaders, status: 431)
    static let headTooLarge = ParseError(.headTooLarge, status: 431)
    static let trailersTooLarge = ParseError(.trailersTooLarge, status: 431)
    static let badHeader = ParseError(.badHeader, status: 400)
    static let badContentLength = ParseError(.badContentLength, status: 400)
    static let unsupportedTransferCoding = ParseError(.unsupportedTransferCoding, status: 501)
    static let badTransferEncoding = ParseError(.badTransferEncoding, status: 400)
    static let badChunk = ParseError(.badChunk, status: 400)
    static let bodyTooLarge = ParseError(.bodyTooLarge, status: 413)
    static let badHost = ParseError(.badHost, status: 400)
}
