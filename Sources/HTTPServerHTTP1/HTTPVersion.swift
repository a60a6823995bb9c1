/// An HTTP version number, as in the request line's `HTTP/d.d`.
public struct HTTPVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The digit before the dot: 1 in `HTTP/1.0`.
    public var major: Int
    /// The digit after the dot: 0 in `HTTP/1.0`.
    public var minor: Int
    /// The version `HTTP/major.minor`.
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    /// HTTP/0.9: a two-word request line (`GET /path`), answered with the body alone.
    public static let http09 = HTTPVersion(major: 0, minor: 9)
    /// HTTP/1.0: Python's default `protocol_version`, where a connection closes after each response
    /// unless both sides ask for keep-alive.
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1: persistent connections by default (RFC 9112 §9.3).
    public static let http11 = HTTPVersion(major: 1, minor: 1)
    /// Orders versions by major, then minor number, as Python compares its `version_number` tuples.
    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    /// `HTTP/1.1` form.
    public var description: String { "HTTP/\(major).\(minor)" }
}
