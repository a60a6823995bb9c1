/// An HTTP status: code, reason phrase and explanation, as Python's `http.HTTPStatus`.
public struct HTTPStatus: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var code: Int
    public init(_ code: Int) { self.code = code }
    public init(integerLiteral code: Int) { self.code = code }
    /// Python's phrase, e.g. "Not Found"; nil for unknown codes.
    public var phrase: String? { HTTPStatus.table[code]?.phrase }
    /// Python's description, e.g. "Nothing matches the given URI".
    public var explanation: String? { HTTPStatus.table[code]?.explanation }
    public var description: String { String(code) }

    public static let ok: HTTPStatus = 200
    public static let badRequest: HTTPStatus = 400
    public static let notFound: HTTPStatus = 404
    public static let internalServerError: HTTPStatus = 500
    public static let notImplemented: HTTPStatus = 501
}
