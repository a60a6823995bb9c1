import Foundation
import Glibc
import Testing

/// A 5 GiB sparse file through the real server: a slow reader keeps the server's memory bounded
/// (measured from /proc, not timed), offsets past 4 GiB work, and the file is closed when the
/// client goes away.
@Suite(.serialized) struct SimpleLargeFileTests {
    static let size = 5 << 30
    static let marker = Array("END-MARK".utf8)

    final class Fixture {
        let root: String
        let server: SimpleServerProcess.Running
        init() throws {
            root = NSTemporaryDirectory() + "simple-large-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let fd = open(root + "/huge.bin", O_CREAT | O_WRONLY, 0o644)
            #expect(ftruncate(fd, off_t(SimpleLargeFileTests.size)) == 0)
            _ = SimpleLargeFileTests.marker.withUnsafeBytes {
                pwrite(fd, $0.baseAddress, $0.count, off_t(SimpleLargeFileTests.size - 8))
            }
            close(fd)
            server = try SimpleServerProcess.startSwift(["-b", "127.0.0.1", "-d", root, "0"])
        }
        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: root)
        }

        var pid: Int32 { server.process.processIdentifier }

        /// A line of /proc/PID/status, in kB.
        func status(_ key: String) -> Int {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
            return 0
        }

        var openDescriptors: Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
        }
    }

    @Test func slowReaderKeepsServerMemoryBoundedAndTheFileClosesWhenTheClientLeaves() throws {
        let f = try Fixture()
        _ = try SimpleServerProcess.exchange(port: f.server.port, Array("HEAD / HTTP/1.0\r\n\r\n".utf8))
        usleep(50_000)
        let descriptorsBefore = f.openDescriptors
        let fd = try SimpleServerProcess.connect(port: f.server.port)
        var small: Int32 = 64 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let request = Array("GET /huge.bin HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var received = 0
        var peakRSS = 0
        // Read 48 MiB slowly: the server must not read ahead of the socket.
        while received < 48 << 20 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += n
            if received % (1 << 20) < n {
                peakRSS = max(peakRSS, f.status("VmRSS"))
                usleep(2_000)
            }
        }
        #expect(received >= 48 << 20)
        #expect(f.openDescriptors == descriptorsBefore + 2)   // the connection and the file
        close(fd)
        var settled = false
        for _ in 0..<200 where !settled {
            usleep(10_000)
            settled = f.openDescriptors == descriptorsBefore
        }
        #expect(settled, "the file or the socket was not closed after the client left")
        let highWater = f.status("VmHWM")
        #expect(peakRSS > 0 && highWater < 96 * 1024, "peak RSS \(peakRSS) kB, high-water \(highWater) kB")
    }

    @Test func offsetsPast4GiB() throws {
        let f = try Fixture()
        let head = SimpleHTTPResponse(try SimpleServerProcess.exchange(port: f.server.port, Array("HEAD /huge.bin HTTP/1.0\r\n\r\n".utf8)))
        #expect(head.header("Content-Length") == String(Self.size))
        let tail = SimpleHTTPResponse(try SimpleServerProcess.exchange(
            port: f.server.port, Array("GET /huge.bin HTTP/1.0\r\nRange: bytes=-8\r\n\r\n".utf8)))
        #expect(tail.status == 206)
        #expect(tail.header("Content-Range") == "bytes \(Self.size - 8)-\(Self.size - 1)/\(Self.size)")
        #expect(tail.body == Self.marker)
        let mid = SimpleHTTPResponse(try SimpleServerProcess.exchange(
            port: f.server.port, Array("GET /huge.bin HTTP/1.0\r\nRange: bytes=\(Self.size - 12)-\(Self.size - 5)\r\n\r\n".utf8)))
        #expect(mid.body == [0, 0, 0, 0] + Array(Self.marker.prefix(4)))
        // Several ranges: each file region gets its own (dup'ed) descriptor for sendfile.
        let multi = SimpleHTTPResponse(try SimpleServerProcess.exchange(
            port: f.server.port, Array("GET /huge.bin HTTP/1.0\r\nRange: bytes=0-3,-8\r\n\r\n".utf8)))
        #expect(multi.status == 206)
        let type = multi.header("Content-type") ?? ""
        let boundary = String(type.dropFirst("multipart/byteranges; boundary=".count))
        let expected = Array("\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/\(Self.size)\r\n\r\n".utf8)
            + [0, 0, 0, 0]
            + Array("\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes \(Self.size - 8)-\(Self.size - 1)/\(Self.size)\r\n\r\n".utf8)
            + Self.marker + Array("\r\n--\(boundary)--\r\n".utf8)
        #expect(multi.body == expected)
        #expect(multi.header("Content-Length") == String(expected.count))
    }
}
