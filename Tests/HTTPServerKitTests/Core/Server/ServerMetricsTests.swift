import CoreMetrics
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import MetricsTestKit
import Testing

/// The server's swift-metrics, with swift-metrics' test backend, over fake sockets.
@Suite struct ServerMetricsTests {
    final class Hello: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        override func doGET() throws {
            let status: HTTPStatus = path == "/missing" ? 404 : 200
            sendResponse(status)
            sendHeader("Content-Length", "5")
            endHeaders()
            wfile.write(Array("hello".utf8))
        }
    }

    @Test func requestsBytesDurationsRejectionsTimeoutsAndStatesAreCounted() throws {
        let metrics = TestMetrics()
        var configuration = ServerConfiguration()
        configuration.metricsFactory = metrics
        var proxy = ProxyProtocolConfiguration(trustedNetworks: [IPNetwork("10.0.0.0/8")!])
        proxy.headerTimeout = .seconds(100)
        configuration.proxyProtocol = proxy
        let clock = ManualClock()
        let server = try HTTPServer(clock: clock, wallClock: { 1_700_000_000 }, configuration: configuration,
                                    logDestination: .discard, handlerFactory: { Hello() })
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: try SocketAddress(ip: "192.0.2.1", port: 1))
        let requests = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
        transport.send(bytes(requests))
        let bad = FakeTransport()
        server.serveConnection(over: bad, peer: try SocketAddress(ip: "192.0.2.2", port: 1))
        bad.send(bytes("GET / HTTP/1.1 extra\r\n\r\n"))
        let slow = FakeTransport()
        server.serveConnection(over: slow, peer: try SocketAddress(ip: "192.0.2.3", port: 1))
        slow.send(bytes("GET / HTT"))
        let proxied = FakeTransport()
        server.serveConnection(over: proxied, peer: try SocketAddress(ip: "10.0.0.3", port: 1))
        server.publishMetrics()

        #expect(try metrics.expectCounter("http_server_requests_total", [("status_class", "2xx")]).totalValue == 1)
        #expect(try metrics.expectCounter("http_server_requests_total", [("status_class", "4xx")]).totalValue == 2)
        #expect(metrics.counterTotal(label: "http_server_requests_rejected_total") == 1)
        #expect(metrics.counters(label: "http_server_requests_rejected_total").first?.dimensions.first?.0 == "error")
        #expect(try metrics.expectTimer("http_server_request_duration_seconds").values.count == 3)
        #expect(try metrics.expectCounter("http_server_bytes_received_total").totalValue
                == Int64(requests.utf8.count + "GET / HTTP/1.1 extra\r\n\r\n".utf8.count + "GET / HTT".utf8.count))
        #expect(try metrics.expectCounter("http_server_response_body_bytes_total").totalValue >= 10)
        #expect(try metrics.expectGauge("http_server_connections", [("state", "proxy_header")]).lastValue == 1)
        let open = metrics.recorders(label: "http_server_connections").compactMap(\.lastValue).reduce(0, +)
        // Idle keep-alive, the slow one reading its head, the refused one lingering, the proxy header.
        #expect(open == 4, "\(metrics.recorders(label: "http_server_connections").map { ($0.dimensions, $0.lastValue) })")

        clock.advance(by: .seconds(61))  // the slow client's head timeout
        server.publishMetrics()
        #expect(try metrics.expectCounter("http_server_timeouts_total", [("kind", "head")]).totalValue == 1)
        proxied.sendEndOfInput()
        server.publishMetrics()
        #expect(try metrics.expectCounter("http_server_connections_refused_total", [("reason", "proxy_header")])
                    .totalValue == 1)
        #expect(try metrics.expectGauge("http_server_connections", [("state", "proxy_header")]).lastValue == 0)
    }

    @Test func withoutABackendThereAreNoMetrics() throws {
        // Nothing bootstrapped: MetricsSystem.factory is the no-op one, and the server skips all
        // metric work (publishing is then a no-op too).
        let server = try HTTPServer(clock: ManualClock(), wallClock: { 0 }, logDestination: .discard,
                                    handlerFactory: { Hello() })
        #expect(MetricsSystem.factory is NOOPMetricsHandler)
        let transport = FakeTransport()
        server.serveConnection(over: transport, peer: nil)
        transport.send(bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
        server.publishMetrics()
        #expect(String(decoding: transport.written, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
    }
}
