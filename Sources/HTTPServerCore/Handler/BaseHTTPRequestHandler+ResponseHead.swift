import Glibc
import HTTPServerHTTP1

/// The bytes behind `send_response`, `send_header` and `end_headers`: written straight into the
/// connection's output queue (nothing is built as a `String` on the hot path), with the framing
/// decisions left to `ResponseFraming`.
extension BaseHTTPRequestHandler {
    /// `Server` and `Date`, the same for every response: both lines are kept ready-made
    /// (`versionString()` is asked once per server and handler class).
    func writeServerAndDateLines() {
        guard let connection, !isHTTP09 else { return }
        let owner = ObjectIdentifier(type(of: self))
        if let job = connection.workerJob {
            // On a worker: the context's ready-made lines are the reactor's; the job has its own.
            connection.writeHead(job.headLines.serverAndDate(second: epochSeconds(), owner: owner,
                                                             serverLine: { self.versionString() }))
            return
        }
        let context = connection.context
        let lines = context.headLines.serverAndDate(second: context.wallClock(), owner: owner,
                                                    serverLine: { self.versionString() })
        connection.writeHead(lines)
    }

    /// The status line; the common ones come ready-made from the context (on a worker, its job).
    func writeStatusLine(_ code: HTTPStatus, message: String?) {
        guard let connection, !isHTTP09 else { return }
        if connection.response.headMark == nil {
            connection.response.headMark = connection.markHead()
        }
        connection.response.pendingStatus = code.code
        let owner = ObjectIdentifier(type(of: self))
        let lines = connection.workerJob?.headLines ?? connection.context.headLines
        if message == nil, let line = lines.status(code: code.code, owner: owner) {
            connection.writeHead(line)
            return
        }
        let phrase = message ?? responses[code.code]?.phrase ?? ""
        let line = Array("\(protocolVersion) \(code.code) \(phrase)\r\n".utf8)
        line.withUnsafeBytes { connection.writeHead($0) }
        if message == nil { lines.keepStatus(line, code: code.code, owner: owner) }
    }

    /// One header line. A name or value holding CR or LF is refused (logged and left out), so that
    /// no input can split the response.
    func writeHeader(_ keyword: String, _ value: String) {
        guard let connection else { return }
        // Native and small strings lend their bytes as they are; others (bridged, lazily
        // decoded) are made contiguous first.
        let lent = keyword.utf8.withContiguousStorageIfAvailable { name in
            value.utf8.withContiguousStorageIfAvailable { text in
                writeHeaderBytes(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(text), connection)
            }
        }
        let accepted: Bool
        if let lent, let result = lent {
            accepted = result
        } else {
            var keyword = keyword
            var value = value
            accepted = keyword.withUTF8 { name in
                value.withUTF8 { text in
                    writeHeaderBytes(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(text), connection)
                }
            }
        }
        if !accepted {
            logError("refused header \(PythonText.repr(keyword)) with a line break in its name or value")
        }
    }

    @inline(__always)
    private func writeHeaderBytes(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                  _ connection: HTTPConnection) -> Bool {
        if name.isEmpty || hasLineBreak(name) || hasLineBreak(value) { return false }
        switch connection.writeResponseHeader(name, value, writesLine: !isHTTP09) {
        case .close?: closeConnection = true
        case .keepAlive?: closeConnection = false
        case nil: break
        }
        return true
    }

    /// The blank line that ends the head, after `Connection: close` where the framing needs it.
    /// A 1xx head is written at once; a final head waits for the body (or the handler's return).
    func writeEndOfHead() {
        guard let connection, !isHTTP09 else { return }
        let status = connection.response.pendingStatus ?? 200
        if status < 200 {
            crlf.withUnsafeBytes { connection.writeHead($0) }
            connection.response.endInterimHead()
            connection.flushFromHandler()
            return
        }
        let announcesClose = connection.endsAfterCurrentRequest || isProtocolHTTP11
        let announcesKeepAlive = isHTTP10Request && !connection.endsAfterCurrentRequest
        switch connection.response.endFinalHead(status: status, isHEADRequest: isHEADRequest,
                                                 closeConnection: &closeConnection, announcesClose: announcesClose,
                                                 announcesKeepAlive: announcesKeepAlive) {
        case .close?: connectionClose.withUnsafeBytes { connection.writeHead($0) }
        case .keepAlive?: connectionKeepAlive.withUnsafeBytes { connection.writeHead($0) }
        case nil: break
        }
        crlf.withUnsafeBytes { connection.writeHead($0) }
    }
}

private let crlf: StaticString = "\r\n"
private let connectionClose: StaticString = "Connection: close\r\n"
private let connectionKeepAlive: StaticString = "Connection: keep-alive\r\n"

/// Whether `bytes` holds a CR or an LF: eight bytes at a time while no byte is below 14, then
/// byte by byte (header names and values are short; two `memchr` calls cost more).
@inline(__always)
private func hasLineBreak(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    let count = bytes.count
    var i = 0
    while count &- i >= 8 {
        let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        // Some byte below 14 (exact while no byte is ≥ 0x80; a false alarm only costs the byte loop).
        if (w &- 0x0E0E_0E0E_0E0E_0E0E) & ~w & 0x8080_8080_8080_8080 != 0 { break }
        i &+= 8
    }
    while i < count {
        let b = base.load(fromByteOffset: i, as: UInt8.self)
        if b == 10 || b == 13 { return true }
        i &+= 1
    }
    return false
}
