/// Limits the request parser enforces. Python's defaults where Python has one.
///
/// Every limit is checked as soon as it is passed, never after buffering the
/// offending line in full, so a peer cannot make the connection hold more than
/// the limit of a partial head.
public struct ParserLimits: Sendable, Equatable {
    /// Longest request line, CRLF excluded (Python: 65536) → 414.
    public var maxRequestLineLength: Int = 65536
    /// Longest method token → 501. Python has no such limit; a method this long
    /// is never one a server implements (RFC 9110 §9.1).
    public var maxMethodLength: Int = 1024
    /// Longest header field line (Python: 65536) → 431.
    public var maxHeaderLineLength: Int = 65536
    /// Most header fields (Python: 100) → 431. Also bounds the trailer fields.
    public var maxHeaderCount: Int = 100
    /// Most bytes in the whole head (leading empty lines, request line, fields) → 431.
    public var maxHeadSize: Int = 1 << 20
    /// Largest body, by Content-Length or chunked total → 413. nil: no limit.
    public var maxBodySize: Int? = nil
    /// Longest chunk-size line including extensions → 400.
    public var maxChunkLineLength: Int = 4096
    /// Most bytes of trailer section → 431.
    public var maxTrailerSize: Int = 65536
    /// Reject an HTTP/1.1 request without a Host field with 400, as RFC 9112 §3.2 requires
    /// ("A server MUST respond with a 400"). Python's `http.server` accepts such requests;
    /// set this to false to do the same. (Two Hosts, or an invalid one, are a 400 either way.)
    public var requireHost: Bool = true
    /// Python's limits, and this server's where Python has none (the defaults above).
    public init() {}
}
