import HTTPServerReactor
import Logging

extension ConnectionContext {
    /// Now, for request durations: the monotonic clock itself on a real loop (whose `now` is read
    /// once per wake-up, so that a request served within one wake-up would last 0), the injected
    /// clock in tests.
    func requestClockNow() -> Instant {
        clock is EventLoop ? Instant.now() : clock.now
    }

    /// Called by the connection when the response to a request is complete (or, for a request
    /// refused by the parser, written): the Common and Combined access lines, and the `Logger`
    /// access record with its metadata.
    func responseCompleted(_ handler: BaseHTTPRequestHandler, status: Int?, bodyBytes: Int) {
        if let metrics {
            metrics.responseCompleted(status: status, bodyBytes: bodyBytes,
                                      nanoseconds: requestClockNow().nanoseconds - handler.requestStart.nanoseconds)
        }
        guard log.logsAccessAtCompletion else { return }
        if case .logger = log.destination {
            let duration = requestClockNow().nanoseconds - handler.requestStart.nanoseconds
            log.record(.info, "\"\(handler.requestline)\" \(status.map { String($0) } ?? "-") \(bodyBytes)") {
                var metadata = handler.loggerMetadata()
                metadata["http.method"] = .string(handler.command)
                metadata["http.path"] = .string(handler.path)
                metadata["http.status"] = .stringConvertible(status ?? 0)
                metadata["http.response.body.size"] = .stringConvertible(bodyBytes)
                metadata["http.duration_ms"] = .string(String(Double(duration / 1000) / 1000))
                return metadata
            }
            return
        }
        let now = wallClock()
        if accessLogDate.second != now { accessLogDate = (now, AccessLogFormat.commonDate(now)) }
        let headers = log.accessLogFormat == .combined ? handler.headers : nil
        log.write(AccessLogFormat.line(
            format: log.accessLogFormat, host: handler.addressString(), date: accessLogDate.text,
            requestLine: handler.requestline, status: status, bodyBytes: bodyBytes,
            referer: headers?["Referer"], userAgent: headers?["User-Agent"]))
    }
}

extension BaseHTTPRequestHandler {
    /// The metadata of every record of this connection: the client's address and the connection.
    func loggerMetadata() -> Logger.Metadata {
        var metadata: Logger.Metadata = ["client.address": .string(clientAddress.host)]
        if let connection {
            metadata["connection.id"] = .string(String(UInt(bitPattern: ObjectIdentifier(connection).hashValue), radix: 16))
        }
        return metadata
    }

    /// Whether `logMessage`/`logError` lines go to a `Logger` (as records, with metadata).
    var logsToLogger: Bool {
        guard let connection, case .logger = connection.context.log.destination else { return false }
        return true
    }
}
