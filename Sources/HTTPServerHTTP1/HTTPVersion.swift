/// An HTTP version number, as in the request line's `HTTP/d.d`.
public struct HTTPVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    public static let http09 = HTTPVersion(major: 0, minor: 9)
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)
    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    /// `HTTP/1.1` form.
    public var description: String { "HTTP/\(major).\(minor)" }
}
