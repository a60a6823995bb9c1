import Glibc
import HTTPServerKit
import Synchronization

/// `sse` mode: every GET opens a server-sent event stream (`ResponseStream`); one producer thread
/// writes an event to every open stream each `--interval` milliseconds, and drops a client whose
/// queue is full (`abort()`): a client that stops reading never holds back the others, and costs
/// at most the stream's limit. Each second it prints `streams N events N dropped N`.
final class EventStreamHandler: BaseHTTPRequestHandler {
    nonisolated(unsafe) static var hub: Broadcaster?

    override var protocolVersion: String { "HTTP/1.1" }

    override func doGET() throws {
        sendResponse(200)
        sendHeader("Content-Type", "text/event-stream")
        sendHeader("Cache-Control", "no-cache")
        sendHeader("Connection", "close")
        endHeaders()
        Self.hub?.add(responseStream(limit: 16 * 1024))
    }

    override func logMessage(_ message: String) {}
}

/// The open streams and the producer thread.
final class Broadcaster: Sendable {
    private struct Streams {
        var open: [ObjectIdentifier: ResponseStream] = [:]
        var delivered = 0
        var dropped = 0
    }
    private let streams = Mutex(Streams())
    let interval: UInt32
    let eventSize: Int

    init(intervalMilliseconds: Int, eventSize: Int) {
        interval = UInt32(max(1, intervalMilliseconds)) * 1_000
        self.eventSize = max(16, eventSize)
    }

    func add(_ stream: ResponseStream) {
        let key = ObjectIdentifier(stream)
        streams.withLock { $0.open[key] = stream }
        stream.onClose { [self] in _ = streams.withLock { $0.open.removeValue(forKey: key) } }
    }

    /// Runs the producer on a thread of its own, for ever.
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            Unmanaged<Broadcaster>.fromOpaque(argument!).takeRetainedValue().produce()
            return nil
        }, box)
    }

    private func produce() {
        var sequence = 0
        var lastReport = time(nil)
        while true {
            usleep(interval)
            sequence += 1
            var event = Array("id: \(sequence)\ndata: ".utf8)
            event += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, eventSize - event.count - 2))
            event += Array("\n\n".utf8)
            let open = streams.withLock { Array($0.open.values) }
            var delivered = 0
            var dropped = 0
            for stream in open {
                switch stream.write(event) {
                case .queued: delivered += 1
                case .full:
                    stream.abort()
                    dropped += 1
                case .closed: break
                }
            }
            let (total, totalDropped) = streams.withLock { state -> (Int, Int) in
                state.delivered += delivered
                state.dropped += dropped
                return (state.delivered, state.dropped)
            }
            let now = time(nil)
            if now != lastReport {
                lastReport = now
                print("streams \(open.count) events \(total) dropped \(totalDropped)")
                fflush(nil)
            }
        }
    }
}
