import Foundation
@testable import HTTPServerCore

/// Test support shared by the suites of async handlers, response streams and workers.

/// The open response streams of a test's handlers, shared with producer threads; counts the
/// streams whose `onClose` has run.
final class StreamHub: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ResponseStream] = []
    private var closedCount = 0

    func add(_ stream: ResponseStream) {
        lock.lock(); list.append(stream); lock.unlock()
        stream.onClose { [self] in lock.lock(); closedCount += 1; lock.unlock() }
    }

    var streams: [ResponseStream] { lock.lock(); defer { lock.unlock() }; return list }
    var closed: Int { lock.lock(); defer { lock.unlock() }; return closedCount }
}

extension BaseHTTPRequestHandler {
    /// A 200 whose body is `text`, with its Content-Length.
    func reply(_ text: String) {
        let body = Array(text.utf8)
        sendResponse(200)
        sendHeader("Content-Length", String(body.count))
        endHeaders()
        wfile.write(body)
    }
}
