/// What the handler has written of the current response, so that the connection can tell whether
/// the response frames itself (and close after it when it does not).
struct ResponseState {
    /// Where the head being built started; set from the status line until `endHeaders()`.
    var headMark: OutputQueue.Mark?
    /// The final (non-1xx) status, once its head has been ended.
    var finalStatus: Int?
    /// The status of the head being built.
    var pendingStatus: Int?
    var declaredLength: Int?
    var isChunked = false
    var sentConnectionHeader = false
    /// HEAD, 1xx, 204 and 304 responses carry no body (RFC 9110 §6.4.1): body writes are dropped.
    var isBodyAllowed = true
    var bodyWritten = 0
    /// Bytes written through `wfile` with no head at all (a handler writing a raw response).
    var wroteRawBytes = false

    var hasFinalStatus: Bool { finalStatus != nil }

    /// Whether a body write of `count` bytes goes out at all.
    mutating func admitBody(_ count: Int) -> Bool {
        if finalStatus == nil && headMark == nil {
            wroteRawBytes = true
            return true
        }
        return isBodyAllowed && count > 0
    }

    /// How much of a write of `count` bytes fits the declared Content-Length: never more, so that
    /// a handler that writes too much cannot desynchronise the client.
    mutating func clampBody(_ count: Int) -> Int {
        guard finalStatus != nil else { return count }
        var allowed = count
        if let declared = declaredLength, !isChunked {
            allowed = max(0, min(count, declared - bodyWritten))
        }
        bodyWritten += count
        return allowed
    }
}
