import Foundation
import Glibc
import HTTPServerKit
import Testing

extension LoopbackTests {
    /// The point of a reactor CGI: Python blocks a thread per script; here a hundred slow scripts run
    /// at once on the one loop thread while static files are still served at full speed.
    ///
    /// Against `http-server --cgi` in its own process, and inside `LoopbackTests` (serialized): the
    /// hundred connections and their pipes would otherwise show in the descriptor counts of suites
    /// running in parallel in this process.
    @Suite struct CGIConcurrencyTests {
        @Test func hundredSlowScriptsDoNotDelayStaticFiles() throws {
            LoopbackTests.raiseDescriptorLimit()
            let tree = try CGITestTree()
            let server = try SimpleServerProcess.startSwift(["--cgi", "-b", "127.0.0.1", "-d", tree.root, "0"])
            defer { server.stop() }
            let scripts = 100
            let sleep = 3

            // Baseline: the static file alone.
            let fetches = 20
            let baselineStart = Date()
            for _ in 0..<fetches { try fetchStatic(server) }
            let baseline = Date().timeIntervalSince(baselineStart)

            let started = Date()
            let request = Array("GET /cgi-bin/slow.sh?\(sleep) HTTP/1.0\r\n\r\n".utf8)
            var sockets: [Int32] = []
            defer { for fd in sockets { close(fd) } }
            for _ in 0..<scripts {
                let fd = try SimpleServerProcess.connect(port: server.port)
                _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                sockets.append(fd)
            }
            // Every script has started once each has sent its header line.
            var received = [[UInt8]](repeating: [], count: scripts)
            var closed = [Bool](repeating: false, count: scripts)
            func drain(wait milliseconds: Int32) {
                var set = sockets.enumerated().map { pollfd(fd: closed[$0.offset] ? -1 : $0.element, events: Int16(POLLIN), revents: 0) }
                guard poll(&set, nfds_t(set.count), milliseconds) > 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 65536)
                for index in set.indices where set[index].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { recv(sockets[index], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { received[index] += buffer[0..<n] } else if n == 0 { closed[index] = true }
                }
            }
            while received.contains(where: { !String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }),
                  Date().timeIntervalSince(started) < Double(sleep) {
                drain(wait: 50)
            }
            #expect(received.allSatisfy { String(decoding: $0, as: UTF8.self).contains("Content-Type: text/plain\r\n\r\n") },
                    "not every script started before the first could finish")

            // The static file while all the scripts sleep: as fast as without them.
            let staticStart = Date()
            for _ in 0..<fetches { try fetchStatic(server) }
            let during = Date().timeIntervalSince(staticStart)
            drain(wait: 0)
            let finishedEarly = received.filter { String(decoding: $0, as: UTF8.self).contains("slept") }.count
            #expect(finishedEarly == 0, "scripts finished before the static fetches did: the fetches waited")
            #expect(during < max(1.5, baseline * 10), "static fetches took \(during) s with \(scripts) scripts running (\(baseline) s without)")

            // All scripts finish together, about `sleep` seconds after they started, not one after another.
            while closed.contains(false) && Date().timeIntervalSince(started) < Double(sleep + 20) { drain(wait: 100) }
            let total = Date().timeIntervalSince(started)
            #expect(!closed.contains(false))
            #expect(total < Double(sleep) + 10, "\(scripts) scripts of \(sleep) s took \(total) s")
            let pids = received.flatMap { CGIScriptOutput.pids(String(decoding: $0, as: UTF8.self)) }
            #expect(pids.count == scripts)
            // Every child was reaped (no zombies left behind).
            for pid in pids { #expect(CGIProcesses.waitUntilGone(pid), "script \(pid) not reaped") }
        }

        private func fetchStatic(_ server: SimpleServerProcess.Running) throws {
            let raw = try CGIClient.exchange(port: server.port, Array("GET /big.bin HTTP/1.0\r\n\r\n".utf8))
            let head = raw.firstRange(of: [13, 10, 13, 10]).map { raw[..<$0.lowerBound] } ?? []
            #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.0 200 OK"))
            #expect(raw.count == head.count + 4 + (1 << 20))
        }
    }
}
