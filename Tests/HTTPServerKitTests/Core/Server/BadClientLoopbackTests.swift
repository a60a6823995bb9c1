import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

// Bad clients over real loopback sockets: slow-loris, client faults, graceful shutdown. Leak checks
// look for this process's descriptors on the test server's port (other suites run in parallel and
// open descriptors of their own, so a plain count of /proc/self/fd would not say whose they are).

@Suite(.serialized) struct BadClientLoopbackTests {
    typealias Scenario = BadClientTests.Scenario
    typealias Handlers = BadClientTests.Handlers

    static func scenarioServer(configuration: ServerConfiguration = ServerConfiguration(), file: String = "",
                               handlers: Handlers) throws -> ServerThread {
        try ServerThread(configuration: configuration) {
            let handler = Scenario()
            handler.filePath = file
            handlers.track(handler)
            return handler
        }
    }

    // MARK: Client faults

    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case resetInHead, resetInBody, resetInResponse, resetInFileDownload, closeInFileDownload
        case halfCloseAfterRequest, resetWhileWaitingFor100Continue, closeWhileWaitingFor100Continue
        case stopReadingThenReset
        var testDescription: String { rawValue }
    }

    /// Each fault over a real socket: no crash, the connection is gone from the server, its handler
    /// is freed, and no descriptor (socket or file) is left open.
    @Test(arguments: Fault.allCases)
    func clientFaultsLeaveNoDescriptorBehind(_ fault: Fault) throws {
        let path = try BadClientTests.temporaryFile(size: 8 << 20)
        defer { unlink(path) }
        let handlers = Handlers()
        let server = try Self.scenarioServer(file: path, handlers: handlers)
        let port = server.port
        let fd = try Sock.connect(port: port)
        switch fault {
        case .resetInHead:
            Sock.send(fd, "GET / HTTP/1.1\r\nHost: exa")
            usleep(20_000)
            Sock.reset(fd)
        case .resetInBody:
            Sock.send(fd, "POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "b", count: 5000))
            usleep(20_000)
            Sock.reset(fd)
        case .resetInResponse, .resetInFileDownload, .closeInFileDownload:
            Sock.send(fd, fault == .resetInResponse ? "GET /drip HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = Sock.read(fd) { $0.count >= 100_000 }
            #expect(first.bytes.count >= 100_000)
            if fault == .closeInFileDownload { close(fd) } else { Sock.reset(fd) }
        case .halfCloseAfterRequest:
            Sock.send(fd, "GET /file HTTP/1.1\r\nHost: example\r\n\r\n")
            shutdown(fd, Int32(SHUT_WR))
            let all = Sock.readToEnd(fd, seconds: 10)
            #expect(all.isEOF && !all.isReset)
            #expect(all.text.hasPrefix("HTTP/1.1 200 "))
            let isComplete = Sock.isCompleteResponse(all.bytes)
            #expect(isComplete, "the whole file arrives after the half-close")
            #expect(all.bytes.count > 8 << 20)
            close(fd)
        case .resetWhileWaitingFor100Continue, .closeWhileWaitingFor100Continue:
            Sock.send(fd, "POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
            let interim = Sock.read(fd) { $0.firstRange(of: [13, 10, 13, 10]) != nil }
            #expect(interim.text.hasPrefix("HTTP/1.1 100 Continue\r\n"))
            if fault == .resetWhileWaitingFor100Continue { Sock.reset(fd) } else { close(fd) }
        case .stopReadingThenReset:
            for _ in 0..<20 { Sock.send(fd, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n") }
            usleep(200_000)
            Sock.reset(fd)
        }
        #expect(eventually(5) { server.connectionCount == 0 }, "the server let go of the connection")
        #expect(eventually(5) { BadClientTests.descriptors(openOn: path) == 0 }, "the file is closed")
        #expect(eventually(5) { Sock.openSockets(onPort: port) == 0 }, "no socket left")
        #expect(server.onLoop { handlers.alive } == 0, "no handler left")
        // The server still serves.
        let next = try Sock.connect(port: port)
        Sock.send(next, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(Sock.readResponse(next).text.hasSuffix("Hello, World!"))
        close(next)
        server.stop()
        #expect(server.server.connectionCount == 0)
    }

    // MARK: Slow-loris

    /// 5,000 connections trickle one header byte every half second against a 2 s head timeout
    /// (the default 60 s, scaled down). A well-behaved client is served throughout, every attacker
    /// gets its 408 once the head timeout has passed since its first byte, and nothing is left.
    @Test func slowLorisOfFiveThousandConnectionsOverLoopback() throws {
        LoopbackTests.raiseDescriptorLimit()
        let descriptorsBefore = Sock.openDescriptorCount()
        let summary = try Self.slowLoris()
        // The server, its loop and every socket are gone by now.
        let descriptorsAfter = Sock.openDescriptorCount()
        print("\(summary); descriptors before \(descriptorsBefore), after \(descriptorsAfter)")
    }

    static func slowLoris() throws -> String {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(2)
        configuration.lingerTimeout = .seconds(1)
        let server = try ServerThread(configuration: configuration) { HelloHandler() }
        let port = server.port
        let good = try Sock.connect(port: port)
        let head = Array("GET /slow HTTP/1.1\r\nHost: example\r\nUser-Agent: slow-loris\r\n".utf8)
        var attackers: [Int32] = []
        var firstByteAt: [Date] = []
        for _ in 0..<5000 {
            let fd = try Sock.connect(port: port)
            Sock.setNonBlocking(fd)
            Sock.send(fd, [head[0]])
            attackers.append(fd)
            firstByteAt.append(Date())
        }
        var sent = [Int](repeating: 1, count: attackers.count)
        var received = [[UInt8]](repeating: [], count: attackers.count)
        var cutOffAfter = [Double](repeating: -1, count: attackers.count)
        var open = attackers.count
        var goodLatencies: [Double] = []
        var lastTrickle = Date()
        var lastGood = Date.distantPast
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(15 * Sanitizer.timingFactor)
        while open > 0 && Date() < deadline {
            if Date().timeIntervalSince(lastTrickle) >= 0.5 {
                lastTrickle = Date()
                for i in attackers.indices where cutOffAfter[i] < 0 && sent[i] < head.count {
                    Sock.send(attackers[i], [head[sent[i]]])
                    sent[i] += 1
                }
            }
            if Date().timeIntervalSince(lastGood) >= 0.1 {
                lastGood = Date()
                let start = Date()
                Sock.send(good, "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
                let response = Sock.readResponse(good, seconds: 5 * Sanitizer.timingFactor)
                goodLatencies.append(Date().timeIntervalSince(start))
                #expect(response.text.hasSuffix("Hello, World!"))
            }
            var pollSet = attackers.indices.map { i in
                pollfd(fd: cutOffAfter[i] < 0 ? attackers[i] : -1, events: Int16(POLLIN), revents: 0)
            }
            guard poll(&pollSet, nfds_t(pollSet.count), 20) > 0 else { continue }
            for i in pollSet.indices where pollSet[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { recv(attackers[i], $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    received[i] += chunk[0..<n]
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    cutOffAfter[i] = Date().timeIntervalSince(firstByteAt[i])
                    open -= 1
                }
            }
        }
        #expect(open == 0, "\(open) attackers still connected")
        let answered408 = received.filter { String(decoding: $0.prefix(13), as: UTF8.self) == "HTTP/1.1 408 " }.count
        #expect(answered408 == attackers.count, "\(answered408) of \(attackers.count) attackers got a 408")
        let early = cutOffAfter.filter { $0 >= 0 && $0 < 1.9 }.count
        // Trickling would take 30 s to complete a head; the cut-off comes at the 2 s head timeout
        // (observed here a little later: this client notices the close on its next poll round).
        let late = cutOffAfter.filter { $0 > 10 * Sanitizer.timingFactor }.count
        #expect(early == 0, "\(early) attackers cut off before the head timeout")
        #expect(late == 0, "\(late) attackers cut off more than 8 s after the head timeout")
        let sorted = cutOffAfter.sorted()
        let worstGood = goodLatencies.max() ?? 0
        #expect(goodLatencies.count >= 10)
        // The worst wait is the moment the attackers' head timeouts expire together: 5,000 408s in one
        // timer callback (about 0.2 s in a debug build; several seconds under ASan on a busy machine).
        #expect(worstGood < 3.0 * Sanitizer.timingFactor, "a well-behaved request waited \(worstGood) s")
        for fd in attackers { close(fd) }
        close(good)
        #expect(eventually(10) { server.connectionCount == 0 })
        #expect(eventually(5) { Sock.openSockets(onPort: port) == 0 }, "no socket left")
        server.stop()
        #expect(eventually(2) { server.hasReturned }, "serveForever() returned")
        return "slow-loris: 5000 attackers cut off after \(sorted[sorted.count / 2]) s (median), \(sorted.last ?? 0) s (max); "
            + "well-behaved: \(goodLatencies.count) requests, median \(goodLatencies.sorted()[goodLatencies.count / 2]) s, worst \(worstGood) s"
    }
}
