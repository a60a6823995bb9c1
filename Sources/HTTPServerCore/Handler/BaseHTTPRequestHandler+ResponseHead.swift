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
        if let job = connection.workerJob {
            // On a worker: the context's ready-made lines are the reactor's; the job has its own.
            let owner = ObjectIdentifier(type(of: self))
            if job.serverLine?.owner != owner {
                job.serverLine = (owner, Array("Server: \(versionString())\r\n".utf8))
            }
            job.serverLine.unsafelyUnwrapped.bytes.withUnsafeBytes { connection.writeHead($0) }
            let now = epochSeconds()
            if job.dateLine.second != now {
                var line = job.dateLine.bytes
                job.dateLine.bytes = []
                line.removeAll(keepingCapacity: true)
                line.append(contentsOf: "Date: ".utf8)
                HTTPDate.format(epochSeconds: now, into: &line)
                line.append(13)
                line.append(10)
                job.dateLine = (now, line)
            }
            job.dateLine.bytes.withUnsafeBytes { connection.writeHead($0) }
            return
        }
        let context = connection.context
        let owner = ObjectIdentifier(type(of: self))
        if context.serverLine?.owner != owner {
            context.serverLine = (owner, Array("Server: \(versionString())\r\n".utf8))
        }
        context.serverLine.unsafelyUnwrapped.bytes.withUnsafeBytes { connection.writeHead($0) }
        context.withDateLine { connection.writeHead($0) }
    }

    /// The status line; the common ones come ready-made from the context.
    func writeStatusLine(_ code: HTTPStatus, message: String?) {
        guard let connection, !isHTTP09 else { return }
        if connection.response.headMark == nil {
            connection.response.headMark = connection.markHead()
        }
        connection.response.pendingStatus = code.code
        let owner = ObjectIdentifier(type(of: self))
        // The context's cache is the reactor's; a worker's job has its own.
        if let job = connection.workerJob {
            if message == nil, let cached = job.statusLine, cached.code == code.code, cached.owner == owner {
                cached.bytes.withUnsafeBytes { connection.writeHead($0) }
                return
            }
            let line = statusLine(code, message: message)
            line.withUnsafeBytes { connection.writeHead($0) }
            if message == nil { job.statusLine = (owner, code.code, line) }
            return
        }
        if message == nil, let cached = connection.context.statusLine, cached.code == code.code, cached.owner == owner {
            cached.bytes.withUnsafeBytes { connection.writeHead($0) }
            return
        }
        let line = statusLine(code, message: message)
        line.withUnsafeBytes { connection.writeHead($0) }
        if message == nil { connection.context.statusLine = (owner, code.code, line) }
    }

    private func statusLine(_ code: HTTPStatus, message: String?) -> [UInt8] {
        let phrase = message ?? responses[code.code]?.phrase ?? ""
        return Array("\(protocolVersion) \(code.code) \(phrase)\r\n".utf8)
    }

    /// One header line. A name or value holding CR or LF is refused (logged and left out), so that
    /// no input can split the response.
    func writeHeader(_ keyword: String, _ value: String) {
        guard let connection else { return }
        var keyword = keyword
        var value = value
        let accepted = keyword.withUTF8 { name in
            value.withUTF8 { text in
                writeHeaderBytes(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(text), connection)
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
        switch connection.response.noteHeader(name, value) {
        case .close?: closeConnection = true
        case .keepAlive?: closeConnection = false
        case nil: break
        }
        guard !isHTTP09 else { return true }
        if connection.response.headMark == nil {
            connection.response.headMark = connection.markHead()
        }
        connection.writeHeaderLine(name, value)
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

@inline(__always)
private func hasLineBreak(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
    return memchr(base, 10, bytes.count) != nil || memchr(base, 13, bytes.count) != nil
}
