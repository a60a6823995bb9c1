import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import HTTPServerReactor
import Testing

@Suite struct RequestLimitTests {
    @Test func lastRequestOfAConnectionSaysConnectionClose() throws {
        var configuration = ServerConfiguration()
        configuration.maxRequestsPerConnection = 2
        let client = TestClient(handler: HelloHandler.self, configuration: configuration)
        let responses = try client.sendRaw(bytes(String(repeating: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", count: 3)))
        #expect(responses.count == 2)
        #expect(responses[0].headers["Connection"] == nil)
        #expect(responses[1].headers["Connection"] == "close")
        #expect(client.isClosedByServer)
    }
}