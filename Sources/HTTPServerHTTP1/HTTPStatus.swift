/// An HTTP status: code, reason phrase and explanation, as Python's `http.HTTPStatus`.
public struct HTTPStatus: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The three-digit status code, e.g. 404 (Python's `HTTPStatus.value`).
    public var code: Int
    /// The status with this code; any integer, known to the table or not (`phrase` is then nil).
    public init(_ code: Int) { self.code = code }
    /// The status with this code, written as a literal: `let status: HTTPStatus = 404`.
    public init(integerLiteral code: Int) { self.code = code }
    /// Python's phrase, e.g. "Not Found"; nil for unknown codes.
    public var phrase: String? { HTTPStatus.table[code]?.phrase }
    /// Python's description, e.g. "Nothing matches the given URI".
    public var explanation: String? { HTTPStatus.table[code]?.explanation }
    /// The code in decimal digits, e.g. "404".
    public var description: String { String(code) }

    /// 200 OK (Python's `HTTPStatus.OK`).
    public static let ok: HTTPStatus = 200
    /// 400 Bad Request (Python's `HTTPStatus.BAD_REQUEST`).
    public static let badRequest: HTTPStatus = 400
    /// 404 Not Found (Python's `HTTPStatus.NOT_FOUND`).
    public static let notFound: HTTPStatus = 404
    /// 500 Internal Server Error (Python's `HTTPStatus.INTERNAL_SERVER_ERROR`).
    public static let internalServerError: HTTPStatus = 500
    /// 501 Not Implemented (Python's `HTTPStatus.NOT_IMPLEMENTED`): the answer to a method with no handler.
    public static let notImplemented: HTTPStatus = 501
}
