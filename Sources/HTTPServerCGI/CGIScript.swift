import Glibc
import HTTPServerReactor
import HTTPServerCore
import HTTPServerStaticFiles

/// One running CGI script, between its process and the response: the request body streams into
/// its standard input, its standard output into the response, its standard error into the log.
/// Everything is nonblocking on the reactor, with backpressure both ways:
/// - the body: when the pipe is full, `rfile` pauses (the client's bytes wait in its socket) until
///   the script has read what is queued;
/// - the output: when `outputBufferLimit` bytes wait for the client, the script's output is no
///   longer read (the script blocks on its full pipe) until the client has taken them.
///
/// The response is complete when the script's output has ended *and* the process has exited.
/// A timeout, the client leaving or the connection closing ends it early: the script and its
/// process group are killed and reaped.
final class CGIScript {
    /// Both the output's end and the exit must be seen, in either order.
    enum Progress {
        case running
        case outputEnded
        case exited(ChildProcess.Termination)
        case finished

        enum Action {
            case wait
            case complete(ChildProcess.Termination)
        }

        mutating func outputEnded() -> Action {
            switch self {
            case .running: self = .outputEnded; return .wait
            case .exited(let termination): self = .finished; return .complete(termination)
            case .outputEnded, .finished: return .wait
            }
        }

        mutating func exited(_ termination: ChildProcess.Termination) -> Action {
            switch self {
            case .running: self = .exited(termination); return .wait
            case .outputEnded: self = .finished; return .complete(termination)
            case .exited, .finished: return .wait
            }
        }

        /// Ends early (timeout, the client gone). False when it had already ended.
        mutating func abort() -> Bool {
            switch self {
            case .finished: return false
            case .running, .outputEnded, .exited: self = .finished; return true
            }
        }
    }

    /// What becomes of the script's standard output.
    enum Output {
        /// Python's: every byte to the client, as is.
        case passedThrough
        /// Parsed mode, before the end of the script's header section.
        case readingHeaders(CGIHeaderParser)
        /// Parsed mode, after it: the body, chunked or not.
        case body(chunked: Bool)
        /// Parsed mode after an error page: read and dropped, so the script can finish.
        case discarding
    }

    /// Strong while the script runs; released the moment it ends (the handler may not outlive
    /// its connection by much, and must not be touched after it).
    private var handler: CGIHTTPRequestHandler?
    let child: ChildProcess
    private let loop: EventLoop
    private let configuration: CGIConfiguration
    private var progress = Progress.running
    private var output: Output
    private var timer: HTTPServerReactor.Timer?
    private var isOutputPaused = false
    /// The current line of standard error (logged line by line).
    private var errorLine: [UInt8] = []
    private static let maxErrorLine = 4096

    init(handler: CGIHTTPRequestHandler, child: ChildProcess, loop: EventLoop, configuration: CGIConfiguration) {
        self.handler = handler
        self.child = child
        self.loop = loop
        self.configuration = configuration
        switch configuration.scriptOutput {
        case .passedThrough: output = .passedThrough
        case .parsed: output = .readingHeaders(CGIHeaderParser())
        }
    }

    /// Wires the pipes, the body and the timeout. Called once the response may begin.
    func start() {
        guard let handler else { return }
        child.onExit = { [unowned self] termination in
            if case .complete(let ended) = progress.exited(termination) { complete(ended) }
        }
        child.standardOutput.start(onData: { [unowned self] bytes in scriptWrote(bytes) }, onEnd: { [unowned self] _ in
            if case .complete(let ended) = progress.outputEnded() { complete(ended) }
        })
        child.standardError.start(onData: { [unowned self] bytes in scriptComplained(bytes) }, onEnd: { [unowned self] _ in
            flushErrorLine()
        })
        sendBody(from: handler.rfile, to: child.standardInput)
        if let timeout = configuration.timeout {
            let timer = HTTPServerReactor.Timer { [weak self] in
                self?.abort("CGI script timed out after \(Self.seconds(timeout)) seconds; killed", closingConnection: true)
            }
            self.timer = timer
            loop.arm(timer, after: timeout)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return String(seconds) }
        return String(Double(seconds) + Double(attoseconds) / 1e18)
    }

    // MARK: The request body → standard input

    private func sendBody(from rfile: RequestBody, to stdin: PipeWriter) {
        // A script that does not read its input (or exits first): the rest of the body is still
        // read from the client and dropped, so that a client that sends its whole body before it
        // reads the response is not left blocked.
        stdin.onFailure = { _ in rfile.resume() }
        guard rfile.isStreaming else {
            rfile.withUnreadBytes { stdin.write($0) }
            stdin.finish()
            return
        }
        rfile.onData { bytes in
            guard !stdin.isClosed else { return }
            stdin.write(bytes)
            if stdin.bufferedCount > 0 {
                // The pipe is full: the client's bytes wait in its socket until the script reads.
                rfile.pause()
                stdin.whenDrained { rfile.resume() }
            }
        }
        rfile.onEnd { _ in stdin.finish() }
    }

    // MARK: Standard output → the response

    private func scriptWrote(_ bytes: UnsafeRawBufferPointer) {
        guard let handler else { return }
        switch output {
        case .passedThrough:
            handler.wfile.write(bytes)
        case .readingHeaders(var parser):
            output = .discarding   // while `parser` is out of the enum (no copy on write)
            switch parser.parse(bytes) {
            case .needMore:
                output = .readingHeaders(parser)
            case .malformed(let reason):
                handler.scriptResponseFailed(reason)
            case .complete(let bodyStart):
                switch parser.head() {
                case .failure(let malformed):
                    handler.scriptResponseFailed(malformed.reason)
                case .success(let head):
                    let chunked = handler.sendScriptHead(head)
                    output = .body(chunked: chunked)
                    if bodyStart < bytes.count { writeBody(UnsafeRawBufferPointer(rebasing: bytes[bodyStart...]), chunked: chunked) }
                }
            }
        case .body(let chunked):
            writeBody(bytes, chunked: chunked)
        case .discarding:
            return
        }
        limitOutput()
    }

    private func writeBody(_ bytes: UnsafeRawBufferPointer, chunked: Bool) {
        guard let handler, !bytes.isEmpty else { return }
        if chunked {
            handler.wfile.write(String(bytes.count, radix: 16) + "\r\n")
            handler.wfile.write(bytes)
            handler.wfile.write("\r\n")
        } else {
            handler.wfile.write(bytes)
        }
    }

    /// Stops reading the script's output while too much of it waits for the client.
    private func limitOutput() {
        guard let handler, !isOutputPaused, handler.wfile.bufferedCount >= configuration.outputBufferLimit else { return }
        isOutputPaused = true
        child.standardOutput.pause()
        handler.wfile.whenDrained { [weak self] in
            guard let self else { return }
            isOutputPaused = false
            child.standardOutput.resume()
        }
    }

    // MARK: Standard error → the log

    private func scriptComplained(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == 10 {
                flushErrorLine()
            } else {
                errorLine.append(byte)
                if errorLine.count >= Self.maxErrorLine { flushErrorLine() }
            }
        }
    }

    private func flushErrorLine() {
        guard !errorLine.isEmpty else { return }
        if errorLine.last == 13 { errorLine.removeLast() }
        let text = String(decoding: errorLine, as: UTF8.self)
        errorLine.removeAll(keepingCapacity: true)
        handler?.logError(text)
    }

    // MARK: The end

    /// The output has ended and the process has exited: the response is complete.
    private func complete(_ termination: ChildProcess.Termination) {
        guard let handler else { return }
        // What the script wrote to standard error just before it exited.
        child.standardError.drainAvailable()
        flushErrorLine()
        switch output {
        case .readingHeaders:
            handler.scriptResponseFailed("premature end of script headers")
        case .body(chunked: true):
            handler.wfile.write("0\r\n\r\n")
        case .passedThrough, .body(chunked: false), .discarding:
            break
        }
        let code = termination.exitCode
        if code != 0 {
            handler.logError("CGI script exit code \(code)")
        } else {
            handler.logMessage("CGI script exited OK")
        }
        release()
        handler.scriptEnded(self)
    }

    /// Ends the script early: it and its process group are killed (and reaped by the loop as
    /// soon as they are gone), and the connection is closed unless it already is.
    func abort(_ reason: String, closingConnection: Bool) {
        guard progress.abort(), let handler else { return }
        flushErrorLine()
        handler.logError(reason)
        release(killing: true)
        handler.scriptEnded(self, closingConnection: closingConnection)
    }

    /// Lets go of the process (reaped by the loop once gone), the timer and the handler.
    private func release(killing: Bool = false) {
        if let timer { loop.disarm(timer) }
        timer = nil
        if killing { child.terminate() } else { child.close() }
        handler = nil
    }
}
