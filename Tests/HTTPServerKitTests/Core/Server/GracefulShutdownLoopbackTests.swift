import Foundation
import Glibc
import HTTPServerKit
import Testing

/// Graceful shutdown over real sockets: `shutdown()` (from another thread, from a handler, under
/// load, with a grace period running out) and SIGTERM through the `http-server` executable. No
/// request the server has accepted is answered with a reset, and nothing is left afterwards.
@Suite(.serialized) struct GracefulShutdownLoopbackTests {
    /// `/never` defers its response for good; `/stop` shuts the server down from the handler;
    /// POST echoes the body; anything else says hello.
    final class Stalling: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func logMessage(_ message: String) {}
        override func doGET() throws {
            switch path {
            case "/never":
                deferResponse()
            case "/stop":
                server.shutdown()  // on the loop thread: begins the shutdown and returns
                reply(Array("stopping".utf8))
            default:
                reply(Array("Hello, World!".utf8))
            }
        }
        override func doPOST() throws {
            reply(rfile.read())
        }
        func reply(_ body: [UInt8]) {
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
        }
    }

    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerThread {
        var configuration = ServerConfiguration()
        configure(&configuration)
        return try ServerThread(configuration: configuration) { Stalling() }
    }

    /// `shutdown()` from another thread, returning when `serveForever()` has.
    static func shutdownInBackground(_ server: ServerThread) -> ManagedAtomicFlag {
        let done = ManagedAtomicFlag()
        let target = server.server
        Thread {
            target.shutdown()
            done.set()
        }.start()
        return done
    }

    @Test func aRequestWhoseBodyIsStillArrivingIsAnswered() throws {
        let server = try Self.start()
        let fd = try Sock.connect(port: server.port)
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        Sock.send(fd, Array("POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 10000\r\n\r\n".utf8) + body[..<5000])
        usleep(50_000)
        let done = Self.shutdownInBackground(server)
        usleep(100_000)
        #expect(!done.isSet, "shutdown waits for the request in progress")
        Sock.send(fd, Array(body[5000...]))
        let result = Sock.readToEnd(fd)
        #expect(result.isEOF && !result.isReset)
        #expect(result.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(result.text.contains("\r\nConnection: close\r\n"))
        let isEchoed = result.bytes.suffix(10_000) == body[...]
        #expect(isEchoed)
        close(fd)  // the server lingers until the client closes
        #expect(eventually(5) { done.isSet })
        server.server.serverClose()
        #expect(server.server.connectionCount == 0)
    }

    /// Idle keep-alive connections whose clients send a new request just as the shutdown begins:
    /// each request is either answered in full (read before the shutdown reached the connection,
    /// or with `Connection: close` after) or not at all (the client reads a clean end of stream and
    /// may retry). Never a reset, never half a response.
    @Test func requestsRacingTheShutdownGetAWholeAnswerOrACleanClose() throws {
        let server = try Self.start()
        let port = server.port
        var clients: [Int32] = []
        for _ in 0..<50 {
            let fd = try Sock.connect(port: port)
            Sock.send(fd, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
            #expect(Sock.readResponse(fd).text.hasSuffix("Hello, World!"))
            clients.append(fd)
        }
        let done = Self.shutdownInBackground(server)
        for fd in clients { Sock.send(fd, "GET / HTTP/1.1\r\nHost: example\r\n\r\n") }
        var answered = 0, closedQuietly = 0
        for fd in clients {
            let result = Sock.readToEnd(fd)
            #expect(result.isEOF && !result.isReset, "a clean close, not a reset")
            if result.bytes.isEmpty {
                closedQuietly += 1
            } else {
                let isComplete = Sock.isCompleteResponse(result.bytes)
                #expect(isComplete, "\(result.text.prefix(200))")
                answered += 1
            }
            close(fd)
        }
        #expect(eventually(5) { done.isSet })
        server.server.serverClose()
        #expect(Sock.openSockets(onPort: port) == 0)
        print("shutdown race: \(answered) answered, \(closedQuietly) closed cleanly before their request was read")
    }

    @Test func theGracePeriodEndsAResponseThatNeverComes() throws {
        let server = try Self.start { $0.shutdownGracePeriod = .milliseconds(500) }
        let fd = try Sock.connect(port: server.port)
        defer { close(fd) }
        Sock.send(fd, "GET /never HTTP/1.1\r\nHost: example\r\n\r\n")
        usleep(50_000)
        let start = Date()
        server.stop()
        let took = Date().timeIntervalSince(start)
        #expect(took >= 0.45 && took < 3, "shutdown took \(took) s")
        let result = Sock.readToEnd(fd, seconds: 2)
        #expect(result.isEOF || result.isReset)
        #expect(server.server.connectionCount == 0)
    }

    @Test func aHandlerCanShutTheServerDown() throws {
        let server = try Self.start()
        let fd = try Sock.connect(port: server.port)
        Sock.send(fd, "GET /stop HTTP/1.1\r\nHost: example\r\n\r\n")
        let result = Sock.readToEnd(fd)
        #expect(result.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(result.text.contains("Connection: close"))
        #expect(result.text.hasSuffix("stopping"))
        #expect(result.isEOF && !result.isReset)
        close(fd)  // the server lingers until the client closes
        #expect(eventually(5) { server.hasReturned }, "serveForever() returned")
        server.server.serverClose()
    }

    /// 100 keep-alive clients in a request loop when the shutdown begins: every response that
    /// starts arrives whole, no client sees a reset, and every connection ends.
    @Test func shutdownUnderLoadLosesNoAcceptedRequest() throws {
        let server = try Self.start()
        let port = server.port
        var fds: [Int32] = []
        for _ in 0..<100 {
            let fd = try Sock.connect(port: port)
            Sock.setNonBlocking(fd)
            Sock.send(fd, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
            fds.append(fd)
        }
        var buffers = [[UInt8]](repeating: [], count: fds.count)
        var ended = [Bool](repeating: false, count: fds.count)
        var completed = 0, resets = 0, partial = 0, closeHeaders = 0
        // The shutdown begins once every client has had an answer: all 100 are accepted and in
        // their request loop (a connection still in the listen backlog is not served by a server
        // that has stopped accepting; under a sanitizer, accepting 100 takes longer than 0.3 s).
        var answered = [Bool](repeating: false, count: fds.count)
        var done: ManagedAtomicFlag?
        let started = Date()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while ended.contains(false) && Date().timeIntervalSince(started) < 20 {
            if done == nil && Date().timeIntervalSince(started) > 0.3 && !answered.contains(false) {
                done = Self.shutdownInBackground(server)
            }
            var pollSet = fds.indices.map { pollfd(fd: ended[$0] ? -1 : fds[$0], events: Int16(POLLIN), revents: 0) }
            guard poll(&pollSet, nfds_t(pollSet.count), 50) > 0 else { continue }
            for i in pollSet.indices where pollSet[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { recv(fds[i], $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    buffers[i] += chunk[0..<n]
                    while Sock.isCompleteResponse(buffers[i]) {
                        let end = buffers[i].firstRange(of: Array("Hello, World!".utf8))!.upperBound
                        if String(decoding: buffers[i][..<end], as: UTF8.self).contains("Connection: close") { closeHeaders += 1 }
                        buffers[i].removeFirst(end)
                        completed += 1
                        answered[i] = true
                        Sock.send(fds[i], "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    if n < 0 && errno == ECONNRESET { resets += 1 }
                    if !buffers[i].isEmpty { partial += 1 }
                    ended[i] = true
                }
            }
        }
        #expect(!ended.contains(false), "every connection ended")
        #expect(resets == 0)
        #expect(partial == 0)
        #expect(completed > 100)
        #expect(eventually(5) { done?.isSet == true })
        for fd in fds { close(fd) }
        server.server.serverClose()
        #expect(Sock.openSockets(onPort: port) == 0)
        print("shutdown under load: \(completed) responses, \(closeHeaders) with Connection: close, 0 resets")
    }

    /// SIGTERM to the `http-server` executable: an idle keep-alive connection is closed cleanly,
    /// a download in flight finishes, and the process exits 0.
    @Test func sigtermClosesIdleConnectionsCleanlyAndFinishesDownloads() throws {
        guard FileManager.default.isExecutableFile(atPath: SimpleServerProcess.executablePath) else { return }
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "-d", tree.served, "-p", "HTTP/1.1", "0"])
        defer { server.stop() }
        let idle = try Sock.connect(port: server.port)
        defer { close(idle) }
        Sock.send(idle, "HEAD /text.txt HTTP/1.1\r\nHost: example\r\n\r\n")
        let head = Sock.read(idle) { $0.firstRange(of: [13, 10, 13, 10]) != nil }
        #expect(head.text.hasPrefix("HTTP/1.1 200 "))
        let download = try Sock.connect(port: server.port)
        defer { close(download) }
        // A small receive buffer keeps the 3 MiB response in flight until the client reads on.
        // (Much smaller, and TCP's tiny windows make the transfer itself crawl.)
        var small: Int32 = 65536
        setsockopt(download, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        Sock.send(download, "GET /large.bin HTTP/1.1\r\nHost: example\r\n\r\n")
        let first = Sock.read(download) { $0.count >= 1000 }
        #expect(first.text.hasPrefix("HTTP/1.1 200 "))
        kill(server.process.processIdentifier, SIGTERM)
        let idleEnd = Sock.readToEnd(idle, seconds: 5)
        #expect(idleEnd.bytes.isEmpty && idleEnd.isEOF && !idleEnd.isReset, "idle: a clean close")
        var all = first.bytes
        let rest = Sock.readToEnd(download, seconds: 20)
        all += rest.bytes
        #expect(rest.isEOF && !rest.isReset)
        let isComplete = Sock.isCompleteResponse(all)
        #expect(isComplete, "the download finished (\(all.count) bytes)")
        let exited = eventually(15) { !server.process.isRunning }
        #expect(exited, "http-server exits after SIGTERM")
        guard exited else { return }  // `server.stop()` kills it
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }
}
