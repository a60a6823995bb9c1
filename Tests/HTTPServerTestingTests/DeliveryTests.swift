import HTTPServerKit
import HTTPServerTesting
import Testing

/// Whole, byte by byte, split where you say, and split everywhere at once.
@Suite struct DeliveryTests {
    static let post = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"

    @Test(arguments: [Delivery.whole, .byteByByte, .split(at: [5]), .split(at: [60, 3, 3, 0, 999]), .pieces(of: 7)])
    func everyDeliveryGetsTheSameAnswer(_ delivery: Delivery) throws {
        let client = TestClient(handler: Greeter.self)
        let response = try client.send(Self.post, delivery: delivery)
        #expect(response.bodyText == "got 11 bytes: hello world")
    }

    @Test func deliveryReallyCutsTheReads() throws {
        let client = TestClient(handler: PieceCounter.self)
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n"
        let cuts = [head.utf8.count + 2, head.utf8.count + 4]
        #expect(try client.send(head + "abcdef", delivery: .split(at: cuts)).bodyText == "3 pieces")
    }

    @Test func everySplitAgreesForAWellBehavedHandler() throws {
        let client = TestClient(handler: Greeter.self)
        let responses = try client.sendAtEverySplit(Self.post + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(responses.map(\.bodyText) == ["got 11 bytes: hello world", "Hello, World!"])
    }

    @Test func everySplitWithEndOfInputForATruncatedRequest() throws {
        let client = TestClient(handler: Greeter.self)
        let responses = try client.sendAtEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", endingInput: true)
        #expect(responses.map(\.status) == [400])
    }

    @Test func everySplitReportsTheFirstSplitThatDiffers() throws {
        let client = TestClient(handler: PieceCounter.self)
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
        do {
            try client.sendAtEverySplit(head + "abcd")
            Issue.record("the split check did not notice a handler that counts reads")
        } catch let mismatch as SplitMismatch {
            // Splits inside the head give the same single piece; the first split inside the body differs.
            #expect(mismatch.delivery == .split(at: [head.utf8.count + 1]))
            #expect(mismatch.expected.contains("200 OK"))
            #expect(mismatch.description.contains("| \"bcd\""), "\(mismatch)")
        }
    }

    @Test func splitChecksUseFreshConnections() throws {
        let client = TestClient(handler: Greeter.self)
        try client.sendAtEverySplit("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.responses.isEmpty, "the client's own connection is not used")
        #expect(client.server.connectionCount == 1, "the connections of the check are gone")
    }
}
