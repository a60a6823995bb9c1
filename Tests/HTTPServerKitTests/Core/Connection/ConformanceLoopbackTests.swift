import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

@Suite(.serialized) struct ConformanceLoopbackTests {
    @Test func checkerPassesEveryMustCaseOverARealSocket() throws {
        let server = try HTTPServer(("127.0.0.1", 0), handler: EchoHandler.self, logDestination: .discard)
        let thread = Thread { try? server.serveForever() }
        thread.start()
        defer { server.shutdown(); server.serverClose() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(getpid()).json")
        process.arguments = ["python3", fixturesDirectory.appendingPathComponent("conformance-check.py").path,
                             "--port", String(server.serverPort), "--idle", "0.1", "--timeout", "3",
                             "--json", results.path,
                             fixturesDirectory.appendingPathComponent("conformance-requests.json").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        #expect(process.terminationStatus == 0, "check.py reported failing must cases:\n\(output)")
        let data = try Data(contentsOf: results)
        let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let mustFailures = rows.filter { $0["level"] as? String == "must" && $0["result"] as? String == "fail" }
        #expect(mustFailures.isEmpty, "\(mustFailures.map { $0["id"] ?? "?" })")
        #expect(rows.count == ConformanceCase.all.count)
    }
}
