import HTTPServerKit
import HTTPServerReactor

/// A handler whose every choice comes from the fuzzer's decision bytes.
final class FuzzHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { current.isHTTP11 ? "HTTP/1.1" : "HTTP/1.0" }

    override func logMessage(_ message: String) {}

    /// Records each status line, so that the output can be checked against what was sent.
    override func sendResponseOnly(_ code: HTTPStatus, message: String? = nil) {
        if isConnected && requestVersion != "HTTP/0.9" {
            current.records.append(Record(code: code.code, isHEAD: command == "HEAD"))
        }
        super.sendResponseOnly(code, message: message)
    }

    override func wantsStreamingBody() -> Bool {
        current.below(4) == 0
    }

    override func handleExpect100() -> Bool {
        switch current.below(6) {
        case 0:
            sendError(417)
            return false
        case 1:
            return false  // the connection answers 417 itself
        default:
            return super.handleExpect100()
        }
    }

    override func doMethod(_ command: String) throws {
        trace("request \(command) \(path) streaming=\(rfile.isStreaming)")
        if rfile.isStreaming {
            switch current.below(4) {
            case 0:
                try streamThenAnswer(pauses: true)
                return
            case 1:
                reply(Int(current.next()))  // answered before the body arrived
                return
            case 2:
                // Paused until the end of the test.
                rfile.pause()
                current.cleanups.append { [rfile] in rfile.resume() }
                try streamThenAnswer(pauses: false)
                return
            default:
                break
            }
        }
        let size = Int(current.next()) * (current.next() % 2 == 0 ? 1 : 211)
        let behaviour = current.below(18)
        trace("behaviour \(behaviour) size \(size)")
        switch behaviour {
        case 0:
            reply(size)
        case 1:
            throw PlannedFailure()
        case 2:
            // Throws in the middle of a head: it is rolled back, and the client gets a 500.
            let before = current.records.count
            sendResponse(200)
            sendHeader("X-Half", "done")
            if current.records.count > before { current.records.removeLast() }
            throw PlannedFailure()
        case 3:
            sendResponse(200)
            sendHeader("Content-Length", String(size + 1))
            endHeaders()
            write(size / 2)
            throw PlannedFailure()
        case 4:
            reply(size + 2, writing: size / 2)  // too little: the connection must close after it
        case 5:
            reply(size, writing: size + 1 + Int(current.next()))  // too much: clamped
        case 6:
            // No framing: the connection closes after it.
            sendResponse(200)
            endHeaders()
            write(size)
        case 7:
            let delay = FuzzRun.delays[current.below(3)]
            deferResponse()
            current.later(delay) { [self] in
                reply(size)
                finishResponse()
            }
        case 8:
            deferResponse()
            reply(size)
            finishResponse()
        case 9:
            try sendFile()
        case 10:
            try answerAsOutputDrains(total: size * 8 + 1)
        case 11:
            sendError(404)
        case 12:
            reply(size, headers: [("Connection", "close")])
        case 13:
            sendResponse(200)
            sendHeader("Transfer-Encoding", "chunked")
            endHeaders()
            for _ in 0..<current.below(4) {
                let n = 1 + current.below(300)
                wfile.write(String(n, radix: 16) + "\r\n")
                write(n)
                wfile.write("\r\n")
            }
            wfile.write("0\r\n\r\n")
        case 14:
            closeConnection = true
            reply(size)
        case 15:
            // A head never ended: the connection replaces it with a 500.
            let before = current.records.count
            sendResponse(200)
            sendHeader("X-Never", "ended")
            if current.records.count > before { current.records.removeLast() }
        case 16:
            sendResponse(204)
            endHeaders()
        default:
            sendResponse(200)
            sendHeader("Content-Length", String(size))
            flushHeaders()
            endHeaders()
            wfile.flush()
            write(size)
        }
    }

    func write(_ count: Int) {
        var left = count
        while left > 0 {
            let n = min(left, filler.count)
            filler.withUnsafeBytes { wfile.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    func reply(_ size: Int, writing written: Int? = nil, headers: [(String, String)] = []) {
        sendResponse(200)
        sendHeader("Content-Length", String(size))
        for (name, value) in headers { sendHeader(name, value) }
        endHeaders()
        write(written ?? size)
    }

    /// Streams the request body, answers once it has ended (or the client went away).
    func streamThenAnswer(pauses: Bool) throws {
        deferResponse()
        var received = 0
        rfile.onData { [self] bytes in
            received += bytes.count
            if pauses && current.below(4) == 0 {
                rfile.pause()
                current.later(FuzzRun.delays[current.below(3)]) { [rfile] in rfile.resume() }
            }
        }
        rfile.onEnd { [self] complete in
            if complete || current.below(2) == 0 {
                reply(received % 1000)
            }
            finishResponse()
        }
    }

    /// Answers with a file region; sometimes one that runs past the end of the file (the file
    /// "shrank"): the connection must close rather than send a short body.
    func sendFile() throws {
        let fd = try FileDescriptor.openForReading(filePath)
        current.openedDescriptors.append(fd.rawValue)
        let start = Int(current.next()) * 97 % FuzzRun.fileSize
        var length = min(FuzzRun.fileSize - start, Int(current.next()) * 151)
        if current.below(6) == 0 { length += 1 + current.below(100) }
        sendResponse(200)
        sendHeader("Content-Length", String(length))
        endHeaders()
        wfile.sendFile(fd, range: start..<(start + length))
    }

    /// A large response produced piece by piece, each piece once the last has been written.
    func answerAsOutputDrains(total: Int) throws {
        deferResponse()
        sendResponse(200)
        sendHeader("Content-Length", String(total))
        endHeaders()
        let piece = 4096 + Int(current.next()) * 64
        pump(total, piece: piece)
    }

    private func pump(_ remaining: Int, piece: Int) {
        guard remaining > 0 else {
            finishResponse()
            return
        }
        let n = min(piece, remaining)
        write(n)
        wfile.whenDrained { [self] in pump(remaining - n, piece: piece) }
    }
}
