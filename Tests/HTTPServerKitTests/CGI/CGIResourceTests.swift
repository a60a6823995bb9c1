import Foundation
import Glibc
import Testing

/// The built `http-server --cgi`, watched from outside through /proc: a client that leaves
/// mid-script gets its script killed and reaped with no descriptor left behind, and a script that
/// floods its output to a slow client holds the server's memory bounded.
@Suite(.serialized) struct CGIResourceTests {
    final class Fixture {
        let tree: CGITestTree
        let server: SimpleServerProcess.Running

        init() throws {
            tree = try CGITestTree()
            server = try SimpleServerProcess.startSwift(["--cgi", "-b", "127.0.0.1", "-d", tree.root, "0"])
            // Warm up: a script runs to its end once, so that lazily made state is counted in the baseline.
            let warm = try CGIClient.exchange(port: server.port, Array("GET /htbin/hello.sh HTTP/1.0\r\n\r\n".utf8))
            #expect(String(decoding: warm, as: UTF8.self).hasSuffix("hello from htbin\n"))
        }

        deinit { server.stop() }

        var pid: Int32 { server.process.processIdentifier }

        var openDescriptors: Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
        }

        /// What each open descriptor is (for failure messages).
        var descriptorTargets: [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return names.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map { name in
                "\(name)->" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)")) ?? "?")
            }
        }

        /// A line of /proc/PID/status, in kB.
        func status(_ key: String) -> Int {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
            return 0
        }

        /// Waits (up to 10 s) for the server to hold `count` descriptors and no child processes.
        func settles(descriptors count: Int) -> Bool {
            for _ in 0..<1000 {
                // At most: the baseline may still hold a connection that lingers after the start-up probe.
                if openDescriptors <= count && CGIProcesses.children(of: pid).isEmpty { return true }
                usleep(10_000)
            }
            return false
        }
    }

    enum Departure: String, CaseIterable, CustomStringConvertible {
        /// Close after the request: the script prints its pid and waits silently.
        case closeWhileSilent
        /// Reset the connection (SO_LINGER 0).
        case reset
        /// Close in the middle of a large streamed POST body.
        case closeMidBody
        var description: String { rawValue }
    }

    @Test(arguments: Departure.allCases)
    func aClientThatLeavesMidScriptGetsItKilledAndReapedWithNoDescriptorLeft(_ departure: Departure) throws {
        let f = try Fixture()
        #expect(f.settles(descriptors: f.openDescriptors))
        let baseline = f.openDescriptors
        let fd = try SimpleServerProcess.connect(port: f.server.port)
        switch departure {
        case .closeWhileSilent, .reset:
            _ = Array("GET /cgi-bin/sleeper.sh HTTP/1.0\r\n\r\n".utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        case .closeMidBody:
            let head = Array("POST /cgi-bin/sleeper.sh HTTP/1.0\r\nContent-Length: 10000000\r\n\r\n".utf8)
            let part = head + [UInt8](repeating: 0x61, count: 100_000)
            _ = part.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        }
        let text = f.read(fd, until: "\n", after: "child=")
        let pids = CGIScriptOutput.pids(text)
        #expect(pids.count == 2, "\(text)")
        #expect(f.openDescriptors > baseline)   // the connection, the pipes, the pidfd
        if departure == .reset {
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        close(fd)
        guard pids.count == 2 else { return }
        #expect(CGIProcesses.waitUntilGone(pids[0]), "the script is still there (or a zombie)")
        #expect(CGIProcesses.waitUntilKilled(pids[1]), "the script's own child is still running")
        #expect(f.settles(descriptors: baseline),
                "descriptors \(f.descriptorTargets), baseline \(baseline); children \(CGIProcesses.children(of: f.pid))")
    }

    @Test func aScriptFloodingASlowClientKeepsServerMemoryBounded() throws {
        let f = try Fixture()
        #expect(f.settles(descriptors: f.openDescriptors))
        let baseline = f.openDescriptors
        let rssBefore = f.status("VmRSS")
        let fd = try SimpleServerProcess.connect(port: f.server.port)
        var small: Int32 = 64 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        _ = Array("GET /cgi-bin/flood.sh?1024 HTTP/1.0\r\n\r\n".utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var received = 0
        var peakRSS = 0
        // 96 MiB, slowly: the script writes a GiB as fast as it can; the server must not read ahead.
        while received < 96 << 20 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += n
            if received % (1 << 20) < n {
                peakRSS = max(peakRSS, f.status("VmRSS"))
                usleep(3_000)
            }
        }
        #expect(received >= 96 << 20)
        let growth = peakRSS - rssBefore
        let highWater = f.status("VmHWM")
        #expect(peakRSS > 0 && growth < 4 * 1024, "RSS grew by \(growth) kB while 96 MiB went through (high-water \(highWater) kB)")
        close(fd)
        // The client left: the script (blocked on its full pipe) is killed and reaped.
        #expect(f.settles(descriptors: baseline), "descriptors \(f.openDescriptors), baseline \(baseline)")
    }
}

extension CGIResourceTests.Fixture {
    /// Reads until `marker` has arrived after `prefix`.
    func read(_ fd: Int32, until marker: String, after prefix: String) -> String {
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let range = text.range(of: prefix), text[range.upperBound...].contains(marker) { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return text
    }
}
