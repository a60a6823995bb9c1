import Foundation
import Glibc
@testable import HTTPServerCore
import HTTPServerKit
import HTTPServerReactor
import HTTPServerTesting
import Testing

/// `ServerConfiguration.reactors` = 2: connections spread over both loops and stay there, a
/// shutdown drains both, and a worker's results go back to its connection's own loop.
@Suite(.serialized) struct ReactorsLoopbackTests {
    /// Answers `reactor <i>`: the reactor whose thread runs it (worker: the one that set it up).
    /// /slow first sleeps 300 ms.
    final class WhichReactor: BaseHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
        /// The reactor of this connection, noted on its loop thread (`setup()` runs there).
        private var reactor = -1

        override func setup() {
            super.setup()
            reactor = Self.reactorOfThisThread(server)
        }

        static func reactorOfThisThread(_ server: HTTPServer) -> Int {
            server.loops.firstIndex { $0.inLoopThread } ?? -1
        }

        override func doGET() throws {
            if path == "/slow" { usleep(300_000) }
            // On a worker: the handler's `connectionLoop` is still its connection's.
            let onWorker = Self.reactorOfThisThread(server) == -1
            let loopIndex = connectionLoop.flatMap { loop in server.loops.firstIndex { $0 === loop } } ?? -1
            let body = Array("reactor \(reactor) loop \(loopIndex) worker \(onWorker)".utf8)
            sendResponse(200)
            sendHeader("Content-Length", String(body.count))
            endHeaders()
            wfile.write(body)
            wfile.flush()  // on a worker: the reactor writes now (`workerAwaitsRoom`), and hands back
            logMessage("served on reactor \(reactor)")
        }
    }

    /// Records, for each log line, the reactor whose thread wrote it.
    final class LogThreads: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [(line: String, reactor: Int)] = []
        weak var server: HTTPServer?
        func append(_ line: String) {
            let reactor = server.map(WhichReactor.reactorOfThisThread) ?? -2
            lock.lock(); lines.append((line, reactor)); lock.unlock()
        }
        var all: [(line: String, reactor: Int)] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    /// `verifyRequest` (on the accepting reactor's thread) blocks that reactor once, for 400 ms:
    /// connections that arrive meanwhile go to the other one (EPOLLEXCLUSIVE wakes a loop that waits).
    final class PlainServer: HTTPServer, @unchecked Sendable {
        let firstAccept = ManagedAtomicFlag()
        override func verifyRequest(_ request: Transport, clientAddress: SocketAddress?) -> Bool {
            if !firstAccept.isSet { firstAccept.set(); usleep(400_000) }
            return true
        }
    }

    final class ThreadedServer: ThreadingHTTPServer, @unchecked Sendable {
        let firstAccept = ManagedAtomicFlag()
        override func verifyRequest(_ request: Transport, clientAddress: SocketAddress?) -> Bool {
            if !firstAccept.isSet { firstAccept.set(); usleep(400_000) }
            return true
        }
    }

    /// A server serving on a thread of its own.
    final class Serving: @unchecked Sendable {
        let server: HTTPServer
        let log = LogThreads()
        private let returned = ManagedAtomicFlag()

        init(threaded: Bool, reactors: Int = 2, maxConnections: Int? = nil) throws {
            var configuration = ServerConfiguration()
            configuration.reactors = reactors
            configuration.maxConnections = maxConnections
            configuration.shutdownGracePeriod = .seconds(3)
            let log = self.log
            let destination = LogDestination.custom { log.append($0) }
            server = threaded
                ? try ThreadedServer(address: ("127.0.0.1", 0), configuration: configuration, logDestination: destination,
                                     bindAndActivate: true, clock: nil, wallClock: { Int64(time(nil)) },
                                     handlerFactory: { WhichReactor() })
                : try PlainServer(address: ("127.0.0.1", 0), configuration: configuration, logDestination: destination,
                                  bindAndActivate: true, clock: nil, wallClock: { Int64(time(nil)) },
                                  handlerFactory: { WhichReactor() })
            log.server = server
            let server = self.server
            let returned = self.returned
            Thread { try? server.serveForever(); returned.set() }.start()
        }

        var port: Int { server.serverPort }
        var hasReturned: Bool { returned.isSet }
    }

    static func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n" }

    /// The reactor a response names.
    static func reactor(in response: Sock.Received) -> Int? {
        guard let range = response.text.range(of: "reactor ") else { return nil }
        return Int(response.text[range.upperBound...].prefix { $0.isNumber })
    }

    /// Threads of this process named `reactor-<i>` (reactors 1… of a serving server).
    static var reactorThreads: Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            ((try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? "").hasPrefix("reactor-")
        }.count
    }

    /// Opens 40 connections while the first one's reactor is held up in `verifyRequest`, asks each
    /// twice which reactor serves it, and returns the connections with their reactors.
    static func spread(_ serving: Serving) throws -> [(fd: Int32, reactor: Int)] {
        var connections: [(fd: Int32, reactor: Int)] = []
        let first = try Sock.connect(port: serving.port)
        usleep(50_000)  // its reactor is now in verifyRequest
        var fds = [first]
        for _ in 1..<40 { fds.append(try Sock.connect(port: serving.port)) }
        for fd in fds {
            Sock.send(fd, get("/"))
            let answer = Sock.readResponse(fd, seconds: 10)
            let index = try #require(Self.reactor(in: answer), "\(answer.text)")
            connections.append((fd, index))
        }
        return connections
    }

    @Test(arguments: [false, true])
    func connectionsSpreadOverBothReactorsAndStayOnTheirs(threaded: Bool) throws {
        let serving = try Serving(threaded: threaded)
        let connections = try Self.spread(serving)
        #expect(serving.server.loops.count == 2)
        let counts = Dictionary(grouping: connections, by: \.reactor).mapValues(\.count)
        #expect(counts.keys.sorted() == [0, 1], "\(counts)")
        // A connection stays on its reactor: the second request is answered by the same one, and
        // on a worker the handler's `connectionLoop` is that reactor's loop.
        for (fd, reactor) in connections {
            Sock.send(fd, Self.get("/"))
            let answer = Sock.readResponse(fd, seconds: 10)
            #expect(answer.text.hasSuffix("reactor \(reactor) loop \(reactor) worker \(threaded)"), "\(answer.text)")
        }
        for (fd, _) in connections { close(fd) }
        serving.server.shutdown()
        serving.server.serverClose()
        #expect(eventually(2) { serving.hasReturned })
    }

    @Test(arguments: [false, true])
    func logLinesAreWrittenByTheConnectionsOwnReactor(threaded: Bool) throws {
        let serving = try Serving(threaded: threaded)
        let connections = try Self.spread(serving)
        for (fd, _) in connections { close(fd) }
        serving.server.shutdown()
        serving.server.serverClose()
        // The handler's own lines (on a worker: handed to the reactor with its result) go to the
        // log from the thread of the reactor that served the connection.
        let lines = serving.log.all.filter { $0.line.contains("served on reactor") }
        #expect(lines.count == 40)
        for (line, reactor) in lines {
            #expect(line.hasSuffix("served on reactor \(reactor)"), "\(line) written on reactor \(reactor)")
        }
        #expect(Set(lines.map(\.reactor)) == [0, 1])
    }

    @Test(arguments: [false, true])
    func shutdownUnderLoadDrainsBothReactorsAndLeavesNothing(threaded: Bool) throws {
        let serving = try Serving(threaded: threaded)
        let port = serving.port
        let connections = try Self.spread(serving)
        #expect(Self.reactorThreads == 1)
        // Every connection has a request in flight when the shutdown begins: three on each reactor
        // take 300 ms (on HTTPServer they hold their reactor up, one after the other).
        var slow: [Int: Int] = [:]
        for (fd, reactor) in connections {
            slow[reactor, default: 0] += 1
            Sock.send(fd, Self.get(slow[reactor]! <= 3 ? "/slow" : "/"))
        }
        usleep(200_000)
        serving.server.shutdown()  // returns once serveForever() has: both reactors drained, joined
        #expect(Self.reactorThreads == 0)
        #expect(eventually(2) { serving.hasReturned })
        var answered: [Int: Int] = [:]
        for (fd, reactor) in connections {
            let answer = Sock.readToEnd(fd, seconds: 10)
            // Each gets a whole answer or a clean close, never a reset (plain HTTPServer: a request
            // the blocked reactor had not read when the shutdown reached it is closed unanswered).
            #expect(!answer.isReset)
            #expect(answer.isEOF)
            if answer.text.hasPrefix("HTTP/1.1 200") { answered[reactor, default: 0] += 1 }
        }
        if threaded {
            #expect(answered.values.reduce(0, +) == 40, "\(answered)")
        }
        #expect(answered.keys.sorted() == [0, 1], "\(answered)")
        serving.server.serverClose()
        for (fd, _) in connections { close(fd) }
        #expect(serving.server.connectionCount == 0)
        #expect(eventually(2) { Sock.openSockets(onPort: port) == 0 })
    }

    /// Idle loops take turns: a loop that accepted re-registers the listener, to the back of its
    /// wait queue, so connections made one after another alternate between the reactors.
    @Test func connectionsOneAfterAnotherGoToBothReactors() throws {
        let serving = try Serving(threaded: false)
        (serving.server as? PlainServer)?.firstAccept.set()  // no loop held up here
        var seen: [Int: Int] = [:]
        for _ in 0..<10 {
            let fd = try Sock.connect(port: serving.port)
            Sock.send(fd, Self.get("/"))
            let answer = Sock.readResponse(fd)
            close(fd)
            if let reactor = Self.reactor(in: answer) { seen[reactor, default: 0] += 1 }
        }
        serving.server.shutdown()
        serving.server.serverClose()
        #expect(seen.values.reduce(0, +) == 10)
        #expect(seen.keys.sorted() == [0, 1], "\(seen)")
    }

    /// `maxConnections` is shared out: with 2 and two reactors, each holds one; a third client waits
    /// in the backlog until a connection closes, and its reactor accepts again.
    @Test func maxConnectionsIsSharedOutBetweenTheReactors() throws {
        let serving = try Serving(threaded: false, maxConnections: 2)
        (serving.server as? PlainServer)?.firstAccept.set()
        var held: [(fd: Int32, reactor: Int)] = []
        for _ in 0..<2 {
            let fd = try Sock.connect(port: serving.port)
            Sock.send(fd, Self.get("/"))
            held.append((fd, try #require(Self.reactor(in: Sock.readResponse(fd)))))
        }
        #expect(Set(held.map(\.reactor)) == [0, 1])
        let third = try Sock.connect(port: serving.port)  // completes in the kernel's backlog
        Sock.send(third, Self.get("/"))
        #expect(Sock.readResponse(third, seconds: 0.3).bytes.isEmpty)
        close(held[0].fd)
        let answer = Sock.readResponse(third)
        #expect(Self.reactor(in: answer) == held[0].reactor, "\(answer.text)")
        close(held[1].fd)
        close(third)
        serving.server.shutdown()
        serving.server.serverClose()
    }

    /// The connection gauges of N reactors are their sum; a state no reactor has left goes to 0.
    @Test func connectionGaugesAreTheSumOfTheReactors() {
        let totals = ConnectionStateTotals(reactors: 2)
        #expect(totals.update(reactor: 0, ["idle": 3, "reading_head": 1]) == ["idle": 3, "reading_head": 1])
        #expect(totals.update(reactor: 1, ["idle": 2]) == ["idle": 5, "reading_head": 1])
        #expect(totals.update(reactor: 0, ["idle": 1]) == ["idle": 3, "reading_head": 0])
    }

    @Test func oneReactorHasNoThreadOfItsOwn() throws {
        let serving = try Serving(threaded: true, reactors: 1)
        let fd = try Sock.connect(port: serving.port)
        Sock.send(fd, Self.get("/"))
        let answer = Sock.readResponse(fd)
        #expect(answer.text.hasSuffix("reactor 0 loop 0 worker true"), "\(answer.text)")
        #expect(Self.reactorThreads == 0)
        close(fd)
        serving.server.shutdown()
        serving.server.serverClose()
    }

    @Test func anInMemoryServerHasOneReactor() throws {
        var configuration = ServerConfiguration()
        configuration.reactors = 4
        let server = try HTTPServer(clock: ManualClock(), wallClock: { 0 }, configuration: configuration,
                                    handlerFactory: { WhichReactor() })
        #expect(server.reactors.count == 1)
        #expect(server.loops.isEmpty)
    }
}
