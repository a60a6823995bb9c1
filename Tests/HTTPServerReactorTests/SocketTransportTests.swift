import CHTTPServerReactor
import Glibc
import Testing
@testable import HTTPServerReactor

extension ReactorTests {
@Suite struct SocketTransportTests {
    @Test func loopbackAcceptAndEcho() throws {
        let loop = try EventLoop()
        let listener = try makeListener()
        var peer: SocketAddress?
        let echo = Recorder()
        var serverTransport: SocketTransport?
        echo.onBytes = { _, bytes in
            // The server side writes back what it got, from inside the callback.
            _ = try? serverTransport?.write(bytes)
        }
        try loop.startAccepting(listener) { transport, address in
            peer = address
            serverTransport = transport
            transport.delegate = echo
            #expect(throws: Never.self) { try transport.start() }
        }

        let client = try SocketTransport.connect(loop: loop, to: listener.localAddress)
        let reply = Recorder()
        reply.onBytes = { recorder, _ in if recorder.received.count >= 5 { loop.stop() } }
        client.delegate = reply
        try client.start()
        let message = bytes("hello")
        #expect(try message.withUnsafeBytes { try client.write($0) } == .processed(5))

        #expect(try runLoop(loop))
        #expect(reply.received == message)
        #expect(echo.received == message)
        #expect(peer?.host == "127.0.0.1")
        #expect(peer?.port == (try client.localAddress()).port)
        // Accepted sockets are nonblocking.
        #expect(creactor_get_status_flags(try #require(serverTransport).fd) & O_NONBLOCK != 0)
        client.close()
        serverTransport?.close()
        listener.close()
    }

    @Test func vectoredWriteSendsAllBuffersInOrder() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let recorder = Recorder()
        let parts = [bytes("GET / HTTP/1.1\r\n"), bytes("Host: x\r\n"), [], bytes("\r\n"), Array(repeating: 0x61, count: 1000)]
        let expected = parts.flatMap { $0 }
        recorder.onBytes = { r, _ in if r.received.count >= expected.count { loop.stop() } }
        server.delegate = recorder
        try server.start()

        let pointers = parts.map { part -> UnsafeRawBufferPointer in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: part.count, alignment: 1)
            copy.copyBytes(from: part)
            return UnsafeRawBufferPointer(copy)
        }
        defer { pointers.forEach { $0.deallocate() } }
        let result = try pointers.withUnsafeBufferPointer { try client.write(vectored: $0) }
        #expect(result == .processed(expected.count))
        #expect(try runLoop(loop))
        #expect(recorder.received == expected)
        server.close(); client.close(); listener.close()
    }

    @Test func sendFileSendsARegionOfAFile() throws {
        var template = Array("/tmp/reactor-sendfile-XXXXXX".utf8CString)
        let tempFD = mkstemp(&template)
        try #require(tempFD >= 0)
        let path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let content = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(content.withUnsafeBytes { Glibc.write(tempFD, $0.baseAddress, $0.count) } == content.count)
        close(tempFD)

        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let file = try FileDescriptor.openForReading(path)
        #expect(try file.size() == 10_000)
        let range = 1_000..<7_500
        let recorder = Recorder()
        recorder.onBytes = { r, _ in if r.received.count >= range.count { loop.stop() } }
        client.delegate = recorder
        try client.start()
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard case .processed(let n) = try server.sendFile(file, range: offset..<range.upperBound) else {
                Issue.record("sendfile would block on 6.5 KB"); break
            }
            #expect(n > 0)
            offset += n
        }
        #expect(try runLoop(loop))
        #expect(recorder.received == Array(content[range]))
        #expect(try server.sendFile(file, range: 5..<5) == .processed(0))
        server.close(); client.close(); listener.close()
    }

    @Test func shortWritesWouldBlockThenWritableWhenPeerReads() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let serverEvents = Recorder()
        server.delegate = serverEvents
        try server.start()
        #expect(server.currentInterest == [.read, .edge])

        // Fill the socket: the client does not read yet.
        let chunk = [UInt8](repeating: 0x78, count: 256 * 1024)
        var sent = 0
        var blocked = false
        for _ in 0..<1000 {
            let result = try chunk.withUnsafeBytes { try server.write($0) }
            if case .processed(let n) = result { sent += n } else { blocked = true; break }
        }
        #expect(blocked)
        // EPOLLOUT only once asked for (a new socket's writable edge would wake the loop for
        // nothing); then it stays armed.
        #expect(server.currentInterest == [.read, .edge])
        server.awaitWritable()
        #expect(server.currentInterest == [.read, .write, .edge])

        let clientEvents = Recorder()
        client.delegate = clientEvents
        var received = 0
        clientEvents.onBytes = { r, bytes in received += bytes.count; r.received.removeAll(keepingCapacity: true) }
        serverEvents.onWritable = { _ in loop.stop() }
        try client.start()  // now the peer reads
        #expect(try runLoop(loop))
        #expect(serverEvents.writableCount == 1)
        #expect(server.currentInterest == [.read, .write, .edge])
        #expect(received > 0)

        // Blocked again: waiting for the next edge costs no epoll_ctl.
        serverEvents.onWritable = { _ in loop.stop() }
        clientEvents.onBytes = { _, _ in }
        client.pauseReading()
        blocked = false
        for _ in 0..<1000 {
            let result = try chunk.withUnsafeBytes { try server.write($0) }
            if case .wouldBlock = result { blocked = true; break }
        }
        #expect(blocked)
        let controls = loop.epollControlCount
        server.awaitWritable()
        #expect(loop.epollControlCount == controls)
        client.resumeReading()
        #expect(try runLoop(loop))
        #expect(serverEvents.writableCount == 2)
        server.close(); client.close(); listener.close()
    }

    @Test func pauseAndResumeReading() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let recorder = Recorder()
        server.delegate = recorder
        try server.start()
        server.pauseReading()
        #expect(server.currentInterest == [.read, .edge], "paused lazily: no epoll_ctl (an edge is noted, a hang-up heard)")
        _ = try bytes("ping").withUnsafeBytes { try client.write($0) }
        // Several wake-ups while paused: nothing may arrive (and the loop must not spin on it).
        var ticks = 0
        var ticker: Timer!
        ticker = Timer {
            ticks += 1
            #expect(recorder.received.isEmpty)
            if ticks < 5 {
                loop.arm(ticker, after: .milliseconds(5))
            } else {
                server.resumeReading()
                #expect(server.currentInterest == [.read, .edge])
            }
        }
        loop.arm(ticker, after: .milliseconds(5))
        recorder.onBytes = { _, _ in loop.stop() }
        #expect(try runLoop(loop))
        #expect(ticks == 5)
        #expect(recorder.received == bytes("ping"))
        server.close(); client.close(); listener.close()
    }

    @Test func endOfInputOnPeerHalfCloseAndWritingGoesOn() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let serverEvents = Recorder()
        serverEvents.onEnd = { _ in
            _ = try? bytes("bye").withUnsafeBytes { try server.write($0) }
        }
        server.delegate = serverEvents
        try server.start()
        let clientEvents = Recorder()
        clientEvents.onBytes = { r, _ in if r.received.count == 3 { loop.stop() } }
        client.delegate = clientEvents
        try client.start()
        _ = try bytes("last").withUnsafeBytes { try client.write($0) }
        client.shutdownWrite()
        #expect(try runLoop(loop))
        #expect(serverEvents.received == bytes("last"))
        #expect(serverEvents.endOfInputCount == 1)
        #expect(server.currentInterest == [.edge])  // stopped reading
        #expect(clientEvents.received == bytes("bye"))
        server.close(); client.close(); listener.close()
    }

    /// `outputEndsStream()`: the last bytes wait in the kernel and leave with the FIN at close, and
    /// the peer gets all of them, then the end of the stream.
    @Test func outputThatEndsTheStreamLeavesWithTheFin() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        server.delegate = Recorder()
        try server.start()
        let clientEvents = Recorder()
        clientEvents.onEnd = { _ in loop.stop() }
        client.delegate = clientEvents
        try client.start()
        let response = bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        let serverFD = server.fd
        server.outputEndsStream()
        #expect(try response.withUnsafeBytes { try server.write($0) } == .processed(response.count))
        // Held back: a partial segment written with MSG_MORE is not sent until the stream ends...
        #expect(creactor_unsent_bytes(serverFD) == Int32(response.count))
        #expect(creactor_unread_bytes(client.fd) == 0)
        server.close()
        // ...and then it is, with the end of the stream.
        #expect(try runLoop(loop))
        #expect(clientEvents.received == response)
        #expect(clientEvents.endOfInputCount == 1)
        client.close(); listener.close()
    }

    @Test func transportFailedOnReset() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let serverEvents = Recorder()
        serverEvents.onFailure = { _, _ in loop.stop() }
        server.delegate = serverEvents
        try server.start()
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        #expect(setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0)
        client.close()  // RST
        #expect(try runLoop(loop))
        #expect(serverEvents.failures.count == 1)
        #expect(serverEvents.failures.first?.errno == ECONNRESET)
        #expect(serverEvents.failures.first?.call == "read")
        server.close(); listener.close()
    }

    @Test func closedTransportIsHarmless() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let recorder = Recorder()
        server.delegate = recorder
        try server.start()
        server.close()
        #expect(server.delegate == nil)
        #expect(server.fd == -1)
        server.close()
        server.pauseReading(); server.resumeReading(); server.awaitWritable(); server.shutdownWrite()
        server.delegate = recorder
        #expect(server.delegate == nil)
        #expect(throws: SystemError(call: "send", errno: EBADF)) {
            try bytes("x").withUnsafeBytes { try server.write($0) }
        }
        #expect(throws: SystemError.self) { try server.start() }
        // The peer sees end of stream.
        let clientEvents = Recorder()
        clientEvents.onEnd = { _ in loop.stop() }
        client.delegate = clientEvents
        try client.start()
        #expect(try runLoop(loop))
        #expect(clientEvents.endOfInputCount == 1)
        #expect(recorder.endOfInputCount == 0)
        client.close(); listener.close()
    }

    @Test func nonblockingConnectCompletes() throws {
        let loop = try EventLoop()
        let listener = try makeListener()
        var accepted: SocketTransport?
        try loop.startAccepting(listener) { transport, _ in accepted = transport }
        var connected: SocketTransport?
        try SocketTransport.connect(loop: loop, to: listener.localAddress) { result in
            connected = try? result.get()
            loop.stop()
        }
        #expect(try runLoop(loop))
        let client = try #require(connected)
        #expect(try client.peerAddress() == listener.localAddress)
        // A closed port: ECONNREFUSED through the completion.
        let port = listener.localAddress.port
        client.close(); accepted?.close(); listener.close()
        var failure: SystemError?
        try SocketTransport.connect(loop: loop, to: SocketAddress(ip: "127.0.0.1", port: port)) { result in
            if case .failure(let error) = result { failure = error }
            loop.stop()
        }
        #expect(try runLoop(loop))
        #expect(failure?.errno == ECONNREFUSED)
        #expect(failure?.description == "connect: Connection refused")
    }

    @Test func interestChangesCostOneEpollCtlAndNoOpsCostNone() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        server.delegate = Recorder()
        try server.start()
        let base = loop.epollControlCount
        // A pause is lazy, and a resume with no edge missed meanwhile costs nothing either.
        server.pauseReading(); server.pauseReading()
        #expect(loop.epollControlCount == base)
        server.resumeReading(); server.resumeReading()
        #expect(loop.epollControlCount == base)
        // Arms EPOLLOUT: one EPOLL_CTL_MOD, which also has epoll look at the (writable) socket.
        server.awaitWritable(); server.awaitWritable()
        #expect(loop.epollControlCount == base + 1)
        server.close(); client.close(); listener.close()
    }

    /// awaitWritable() with no EAGAIN before it: the socket is already writable and no edge is
    /// coming, yet `transportWritable()` must still be delivered.
    @Test func awaitWritableOnAnIdleSocketIsDelivered() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let events = Recorder()
        events.onWritable = { _ in loop.stop() }
        server.delegate = events
        try server.start()
        // Let the first wake-up consume the edge of a freshly registered, writable socket.
        let tick = Timer { server.awaitWritable() }
        loop.arm(tick, after: .milliseconds(20))
        #expect(try runLoop(loop))
        #expect(events.writableCount == 1)
        server.close(); client.close(); listener.close()
    }

    /// Bytes and the end of the stream that arrive together bring one edge: both are delivered.
    @Test func bytesAndEndOfStreamInOneEdgeAreBothDelivered() throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let events = Recorder()
        events.onEnd = { _ in loop.stop() }
        server.delegate = events
        _ = try bytes("GET / HTTP/1.0\r\n\r\n").withUnsafeBytes { try client.write($0) }
        client.shutdownWrite()
        usleep(10_000)  // both are in the socket before epoll first looks at it
        try server.start()
        #expect(try runLoop(loop))
        #expect(events.received == bytes("GET / HTTP/1.0\r\n\r\n"))
        #expect(events.endOfInputCount == 1)
        server.close(); client.close(); listener.close()
    }

    /// More than one read buffer waiting: all of it arrives, a buffer per wake-up, though no new
    /// edge announces what the first read left behind.
    @Test func moreThanABufferInTheSocketIsAllRead() throws {
        let loop = try EventLoop(readBufferSize: 1024)
        let (server, client, listener) = try connectedPair(loop)
        let events = Recorder()
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        events.onBytes = { r, _ in if r.received.count == payload.count { loop.stop() } }
        server.delegate = events
        _ = try payload.withUnsafeBytes { try client.write($0) }
        usleep(10_000)
        try server.start()
        #expect(try runLoop(loop))
        #expect(events.received.count == payload.count)
        #expect(events.received.elementsEqual(payload))
        server.close(); client.close(); listener.close()
    }

    @Test func writingToAClosedPeerIsAnErrorNotSIGPIPE() throws {
        var template = Array("/tmp/reactor-sigpipe-XXXXXX".utf8CString)
        let tempFD = mkstemp(&template)
        try #require(tempFD >= 0)
        unlink(String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        let file = FileDescriptor(rawValue: tempFD)
        let block = [UInt8](repeating: 0x41, count: 4096)
        _ = block.withUnsafeBytes { Glibc.write(tempFD, $0.baseAddress, $0.count) }

        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        client.close()
        // The first write draws an RST from the closed peer; later ones fail with EPIPE/ECONNRESET.
        // sendfile has no MSG_NOSIGNAL: only the loop's SIG_IGN keeps the process alive.
        var failure: SystemError?
        for _ in 0..<100 {
            do {
                _ = try server.sendFile(file, range: 0..<4096)
                _ = try block.withUnsafeBytes { try server.write($0) }
            } catch let error as SystemError {
                failure = error
                break
            }
            usleep(1000)
        }
        #expect(failure?.errno == EPIPE || failure?.errno == ECONNRESET)
        server.close(); listener.close()
    }

    @Test func transportOutlivingItsLoopOnlyClosesItsDescriptor() throws {
        var transport: SocketTransport?
        var listener: ListeningSocket?
        do {
            let loop = try EventLoop()
            let pair = try connectedPair(loop)
            pair.server.delegate = Recorder()
            try pair.server.start()
            pair.client.close()
            transport = pair.server
            listener = pair.listener
        }
        let server = try #require(transport)
        #expect(throws: SystemError.self) {
            let parts = [UnsafeRawBufferPointer(start: nil, count: 0)]
            _ = try parts.withUnsafeBufferPointer { try server.write(vectored: $0) }
        }
        server.pauseReading()
        server.close()
        #expect(server.fd == -1)
        listener?.close()
    }
}
}
