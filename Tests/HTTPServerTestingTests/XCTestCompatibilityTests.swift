import HTTPServerKit
import HTTPServerTesting
import XCTest

/// The harness needs no particular test framework: the same calls in an XCTest case.
final class XCTestCompatibilityTests: XCTestCase {
    func testThreeLines() throws {
        let client = TestClient(handler: Greeter.self)
        let response = try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "Hello, World!")
    }

    func testExpectContinueAndKeepAlive() throws {
        let client = TestClient(handler: Greeter.self)
        let response = try client.send(.post("/upload", body: "hello", expectsContinue: true))
        XCTAssertEqual(response.interim.map(\.status), [100])
        XCTAssertEqual(response.bodyText, "got 5 bytes: hello")
        XCTAssertEqual(try client.send(.get("/")).status, 200)
        XCTAssertFalse(client.isClosedByServer)
    }

    func testTimeoutAndSplits() throws {
        var configuration = ServerConfiguration()
        configuration.headTimeout = .seconds(5)
        let client = TestClient(handler: Greeter.self, configuration: configuration)
        XCTAssertNoThrow(try client.sendAtEverySplit("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = try client.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n")
        XCTAssertEqual(try client.advanceTime(by: .seconds(6)).map(\.status), [408])
    }

    func testSplitMismatchIsAnError() {
        let client = TestClient(handler: PieceCounter.self)
        XCTAssertThrowsError(try client.sendAtEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")) { error in
            XCTAssertTrue(error is SplitMismatch, "\(error)")
        }
    }

    func testLoopback() throws {
        let client = try TestClient(handler: Greeter.self, mode: .loopback)
        let response = try client.send(.post("/upload", body: "hello"))
        XCTAssertEqual(response.bodyText, "got 5 bytes: hello")
        XCTAssertThrowsError(try client.advanceTime(by: .seconds(1)))
    }
}
