// Peer (opt-in, BENCH_HUMMINGBIRD=1): a Hummingbird 2 hello server whose NIO event loop group has
// one thread. Route handlers run on Swift concurrency's pool; the runner pins the whole process
// to one core, so everything shares that core.
// Usage: hummingbird-hello --port N [--bind ADDR]
import ArgumentParser
import Hummingbird
import NIOPosix

@main
struct HummingbirdHello: AsyncParsableCommand {
    @Option(help: "TCP port") var port: Int = 8082
    @Option(help: "Address to bind") var bind: String = "127.0.0.1"

    func run() async throws {
        let router = Router()
        router.get("/") { _, _ -> String in "Hello, World!" }
        router.post("/") { request, _ -> String in
            _ = try await request.body.collect(upTo: 1 << 20)
            return "Hello, World!"
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(bind, port: port), serverName: nil),
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)))
        print("hummingbird-hello listening on \(bind):\(port)")
        try await app.runService()
    }
}
