import Foundation
import Glibc
import Testing

/// `http-server`'s production options, and logging that never blocks serving.
@Suite struct ProductionCLITests {
    /// Sends `count` keep-alive requests for an empty file, `batch` pipelined at a time; returns
    /// how many were answered.
    static func answered(port: Int, count: Int, batch: Int = 100) throws -> Int {
        let fd = try SimpleServerProcess.connect(port: port)
        defer { close(fd) }
        let request = Array("GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let marker = Array("HTTP/1.1 200 OK".utf8)
        var done = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while done < count {
            let requests = Array([[UInt8]](repeating: request, count: batch).joined())
            _ = requests.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var seen = 0
            var tail: [UInt8] = []
            while seen < batch {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return done + seen }  // stalled (10 s receive timeout) or closed
                let chunk = tail + buffer[0..<n]
                var i = 0
                while i + marker.count <= chunk.count {
                    if chunk[i..<(i + marker.count)].elementsEqual(marker) { seen += 1; i += marker.count } else { i += 1 }
                }
                tail = Array(chunk.suffix(marker.count - 1))
            }
            done += seen
        }
        return done
    }

    @Test func standardErrorThatNobodyReadsDoesNotStallServing() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        // `errors` is a pipe this test never reads: it fills after about 900 access lines.
        let server = try SimpleServerProcess.startSwift(["0", "-b", "127.0.0.1", "-d", tree.served, "-p", "HTTP/1.1"])
        defer { server.stop() }
        #expect(try Self.answered(port: server.port, count: 4000) == 4000)
    }

    @Test func accessLogGoesToAFileInCombinedFormat() throws {
        let tree = try SimpleTestTree()
        defer { tree.remove() }
        let logPath = tree.root + "/access.log"
        let server = try SimpleServerProcess.startSwift(
            ["0", "-b", "127.0.0.1", "-d", tree.served, "--access-log", logPath, "--access-log-format", "combined"])
        defer { server.stop() }
        let response = try SimpleServerProcess.exchange(
            port: server.port, Array("GET /text.txt HTTP/1.0\r\nUser-Agent: probe/1\r\nReferer: http://r/\r\n\r\n".utf8))
        #expect(String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.0 200 OK"))
        usleep(300_000)  // flushed within 50 ms
        server.stop()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(log.hasPrefix("127.0.0.1 - - ["), "\(log)")
        #expect(log.hasSuffix("\"GET /text.txt HTTP/1.0\" 200 27 \"http://r/\" \"probe/1\"\n"), "\(log)")
    }

    @Test func badProductionOptionsAreRefused() throws {
        for (arguments, message) in [(["--access-log-format", "xml"], "invalid access log format 'xml'"),
                                     (["--proxy-protocol", "10.0.0.0/99"], "invalid network '10.0.0.0/99'"),
                                     (["--proxy-protocol", "proxy.example"], "invalid network")] {
            let outcome = try CLITests.run(arguments)
            #expect(outcome.status == 2, "\(arguments)")
            #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        }
        let outcome = try CLITests.run(["0", "--access-log", "/nonexistent-dir/x.log"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("cannot open access log"), "\(outcome.stderr)")
    }
}
