import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import Testing

/// The PROXY protocol stage between accept and the HTTP connection, over fake sockets.
@Suite struct ProxyProtocolTests {
    /// Answers with the client's address as the handler sees it, and logs through `lines`.
    final class AddressHandler: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            let body = Array("\(clientAddress.host) \(clientAddress.port)".utf8)
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
        }
    }

    final class Lines: @unchecked Sendable { var all: [String] = [] }

    struct Setup {
        let server: HTTPServer
        let clock: ManualClock
        let lines: Lines
    }

    static func server(trusting networks: [String] = ["10.0.0.0/8"]) throws -> Setup {
        var configuration = ServerConfiguration()
        var proxy = ProxyProtocolConfiguration(trustedNetworks: networks.compactMap(IPNetwork.init))
        proxy.headerTimeout = .seconds(3)
        configuration.proxyProtocol = proxy
        let clock = ManualClock()
        let lines = Lines()
        let server = try HTTPServer(clock: clock, wallClock: { 1_700_000_000 }, configuration: configuration,
                                    logDestination: .custom { lines.all.append($0) }, handlerFactory: { AddressHandler() })
        return Setup(server: server, clock: clock, lines: lines)
    }

    static let request = bytes("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")

    @Test func headerFromTrustedPeerBecomesClientAddressAndLogAddress() throws {
        for header in [bytes("PROXY TCP4 198.51.100.9 10.0.0.1 40000 80\r\n"),
                       ProxyHeaderParserTests.v2(family: 0x11, body: ProxyHeaderParserTests.v4Body)] {
            let stream = header + Self.request
            for split in 1..<stream.count {
                let setup = try Self.server()
                let transport = FakeTransport()
                setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.9.8.7", port: 5555))
                transport.send(Array(stream[..<split]))
                transport.send(Array(stream[split...]))
                let text = String(decoding: transport.written, as: UTF8.self)
                let expected = header.first == UInt8(ascii: "P") ? "198.51.100.9 40000" : "203.0.113.7 50000"
                #expect(text.hasPrefix("HTTP/1.1 200"), "split \(split)")
                #expect(text.hasSuffix(expected), "split \(split): \(text)")
                #expect(!transport.isClosed)
                #expect(setup.lines.all.first?.hasPrefix(expected.split(separator: " ")[0] + " - - [") == true)
            }
        }
    }

    @Test func trustedPeerWithoutHeaderIsClosedWithNothingServed() throws {
        let setup = try Self.server()
        let transport = FakeTransport()
        setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.0.0.2", port: 1))
        transport.send(Self.request)
        #expect(transport.isClosed)
        #expect(transport.written.isEmpty)
        #expect(setup.lines.all.isEmpty)
    }

    @Test func truncatedHeaderTimesOutWithNothingServed() throws {
        let setup = try Self.server()
        let transport = FakeTransport()
        setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.0.0.2", port: 1))
        transport.send(bytes("PROXY TCP4 198.51.100.9 10.0.0.1 4000"))
        setup.clock.advance(by: .seconds(2))
        #expect(!transport.isClosed)
        setup.clock.advance(by: .seconds(2))
        #expect(transport.isClosed)
        #expect(transport.written.isEmpty)
    }

    @Test func truncatedHeaderThenEndOfInputCloses() throws {
        let setup = try Self.server()
        let transport = FakeTransport()
        setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.0.0.2", port: 1))
        transport.send(Array(ProxyHeaderParserTests.v2(family: 0x11, body: ProxyHeaderParserTests.v4Body).prefix(20)))
        transport.sendEndOfInput()
        #expect(transport.isClosed)
        #expect(transport.written.isEmpty)
        #expect(setup.clock.armedCount == 0)
    }

    @Test func oversizedAndMalformedHeadersCloseWithNothingServed() throws {
        for header in [bytes("PROXY UNKNOWN " + String(repeating: "y", count: 200) + "\r\n"),
                       bytes("PROXY TCP4 1.2.3.4 nope 1 2\r\n"),
                       ProxyHeaderParserTests.v2(family: 0x11, body: [UInt8](repeating: 0, count: 5000))] {
            let setup = try Self.server()
            let transport = FakeTransport()
            setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.0.0.2", port: 1))
            transport.send(header + Self.request)
            #expect(transport.isClosed)
            #expect(transport.written.isEmpty)
        }
    }

    @Test func headerFromUntrustedPeerIsARequestAndFailsAsOne() throws {
        let setup = try Self.server()
        let transport = FakeTransport()
        setup.server.serveConnection(over: transport, peer: try SocketAddress(ip: "192.0.2.50", port: 7))
        transport.send(bytes("PROXY TCP4 198.51.100.9 10.0.0.1 40000 80\r\n") + Self.request)
        let text = String(decoding: transport.written, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 400") || text.hasPrefix("HTTP/1.0 400"), "\(text)")
        // The log shows the real peer, not the address the header claims.
        #expect(setup.lines.all.first?.hasPrefix("192.0.2.50 - - [") == true, "\(setup.lines.all)")
    }

    @Test func serverWithoutTheOptionServesAHeaderAsARequest() throws {
        let transport = FakeTransport()
        let server = try HTTPServer(clock: ManualClock(), wallClock: { 0 }, logDestination: .discard,
                                    handlerFactory: { AddressHandler() })
        server.serveConnection(over: transport, peer: try SocketAddress(ip: "10.0.0.2", port: 1))
        transport.send(bytes("PROXY TCP4 198.51.100.9 10.0.0.1 40000 80\r\n"))
        #expect(String(decoding: transport.written, as: UTF8.self).contains(" 400 "))
    }
}
