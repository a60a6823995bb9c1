import Glibc
import Testing
@testable import HTTPServerReactor

extension ReactorTests {
/// A socket whose reading is paused still hears, once, that its peer left: reset → failure;
/// close with nothing unread → end of input; close with bytes unread → `peerHalfClosed`.
@Suite struct PausedHangupTests {
    enum Departure: CaseIterable { case reset, closeWithNothingUnread, closeWithBytesUnread }

    @Test(arguments: Departure.allCases)
    func pausedSocketHearsItsPeerLeave(_ departure: Departure) throws {
        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let recorder = Recorder()
        recorder.onFailure = { _, _ in loop.stop() }
        recorder.onEnd = { _ in loop.stop() }
        recorder.onHalfClosed = { _ in loop.stop() }
        server.delegate = recorder
        try server.start()
        server.pauseReading()
        if departure == .closeWithBytesUnread {
            _ = try bytes("unread").withUnsafeBytes { try client.write($0) }
        }
        if departure == .reset {
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        client.close()
        #expect(try runLoop(loop, limit: .seconds(3)), "the paused socket heard nothing")
        switch departure {
        case .reset:
            #expect(recorder.failures.count == 1)
        case .closeWithNothingUnread:
            #expect(recorder.endOfInputCount == 1)
        case .closeWithBytesUnread:
            #expect(recorder.halfClosedCount == 1)
            #expect(recorder.unreadAtHalfClose == 6)
            #expect(recorder.received.isEmpty, "still paused: nothing read")
            // Resuming delivers the bytes, then the end.
            recorder.onHalfClosed = nil
            server.resumeReading()
            #expect(try runLoop(loop, limit: .seconds(3)))
            #expect(String(decoding: recorder.received, as: UTF8.self) == "unread")
            #expect(recorder.endOfInputCount == 1)
        }
        // Heard once: no spinning on the hang-up afterwards.
        var wakeups = 0
        let ticker = Timer { loop.stop() }
        loop.arm(ticker, at: loop.now.advanced(by: .milliseconds(100)))
        recorder.onHalfClosed = { _ in wakeups += 1 }
        recorder.onEnd = { _ in wakeups += 1 }
        try loop.run()
        #expect(wakeups == 0)
        server.close(); listener.close()
    }
}
}
