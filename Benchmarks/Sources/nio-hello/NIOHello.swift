// Peer: a SwiftNIO NIOHTTP1 hello server on ONE event-loop thread, the way a SwiftNIO user writes it.
// GET (any path) → 200, "Hello, World!", Content-Length, keep-alive as the request asks.
// Usage: nio-hello --port N [--bind ADDR]
import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix

final class HelloHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private static let body = ByteBuffer(string: "Hello, World!")
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            // NIOHTTP1 leaves Expect: 100-continue to the application (RFC 9110 §10.1.1).
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body:
            break
        case .end:
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain")
            headers.add(name: "Content-Length", value: "13")
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(Self.body))), promise: nil)
            if keepAlive {
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }

    // Flush once per read batch: pipelined responses go out in one write.
    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

@main
struct NIOHello: ParsableCommand {
    @Option(help: "TCP port") var port: Int = 8081
    @Option(help: "Address to bind") var bind: String = "127.0.0.1"

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HelloHandler())
                }
            }
        let channel = try bootstrap.bind(host: bind, port: port).wait()
        print("nio-hello listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
        try channel.closeFuture.wait()
    }
}
