/// Python's error page, `http.server.DEFAULT_ERROR_MESSAGE`, with its `%(name)s` placeholders.
public let defaultErrorMessageFormat = """
<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>

"""


/// Python's `http.server.DEFAULT_ERROR_CONTENT_TYPE`.
public let defaultErrorContentType = "text/html;charset=utf-8"

/// The body `send_error` sends: the handler's `errorMessageFormat` filled in, HTML-escaped as
/// Python escapes it. None for the statuses that carry no body (1xx, 204, 205, 304).
enum ErrorPage {
    static func body(format: String, code: Int, message: String, explain: String) -> [UInt8]? {
        guard code >= 200 && code != 204 && code != 205 && code != 304 else { return nil }
        let page = PythonText.percentFormat(format, [
            "code": String(code),
            "message": PythonText.htmlEscape(message),
            "explain": PythonText.htmlEscape(explain),
        ])
        return Array(page.utf8)
    }
}
