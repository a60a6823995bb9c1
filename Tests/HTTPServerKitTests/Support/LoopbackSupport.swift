import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

/// A server serving on its own thread.
final class ServerThread: @unchecked Sendable {
    let server: HTTPServer
    private let returned = ManagedAtomicFlag()

    init(configuration: ServerConfiguration = ServerConfiguration(),
         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        server = try HTTPServer(("127.0.0.1", 0), configuration: configuration, logDestination: .discard,
                                handlerFactory: handlerFactory)
        let server = self.server
        let returned = self.returned
        Thread { try? server.serveForever(); returned.set() }.start()
    }

    var port: Int { server.serverPort }
    var hasReturned: Bool { returned.isSet }

    /// Runs `body` on the loop thread and returns its result.
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        let work = UncheckedBox(body)
        server.loop!.execute { box.value = work.value(); done.signal() }
        done.wait()
        return box.value!
    }

    var connectionCount: Int {
        let server = self.server
        return onLoop { server.connectionCount }
    }

    /// Graceful shutdown (from this thread: waits for `serveForever()` to return), then close.
    func stop() {
        server.shutdown()
        server.serverClose()
    }
}

final class ResultBox<T>: @unchecked Sendable { var value: T? }

/// Hands a value to the loop thread, which alone uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ value: T) { self.value = value } }

/// Whether this test binary runs under AddressSanitizer or ThreadSanitizer (a debug build under a
/// sanitizer is several times slower: timing bounds scale with `timingFactor`).
enum Sanitizer {
    static let isActive: Bool = {
        let me = dlopen(nil, RTLD_NOW)
        return dlsym(me, "__asan_init") != nil || dlsym(me, "__tsan_init") != nil
    }()
    static var timingFactor: Double { isActive ? 5 : 1 }
}

/// Raw client sockets.
enum Sock {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw SocketFailure(description: "connect: errno \(error)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    struct SocketFailure: Error, CustomStringConvertible { var description: String }

    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    @discardableResult
    static func send(_ fd: Int32, _ text: String) -> Int { send(fd, Array(text.utf8)) }

    /// Closes with a reset (SO_LINGER 0): the server's next read or write fails with ECONNRESET.
    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    struct Received {
        var bytes: [UInt8] = []
        var isEOF = false
        var isReset = false
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Reads until the peer closes, a reset, or `seconds` pass.
    static func readToEnd(_ fd: Int32, seconds: Double = 5) -> Received {
        read(fd, seconds: seconds) { _ in false }
    }

    /// Reads until `done(bytes)`, end of stream, a reset, or `seconds` pass.
    static func read(_ fd: Int32, seconds: Double = 5, until done: ([UInt8]) -> Bool) -> Received {
        var result = Received()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while !done(result.bytes) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                result.bytes += chunk[0..<n]
            } else if n == 0 {
                result.isEOF = true
                break
            } else if errno != EAGAIN && errno != EINTR {
                result.isReset = errno == ECONNRESET
                break
            }
        }
        return result
    }

    /// Reads one whole response with a Content-Length body (or until the close).
    static func readResponse(_ fd: Int32, seconds: Double = 5) -> Received {
        read(fd, seconds: seconds) { Self.isCompleteResponse($0) }
    }

    static func isCompleteResponse(_ bytes: [UInt8]) -> Bool {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return false }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) else { return false }
        return bytes.count >= end.upperBound + length
    }

    /// This process's descriptors that are TCP sockets with `port` at either end, listeners
    /// excluded: the server's accepted connections and the test's clients.
    static func openSockets(onPort port: Int) -> Int {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[3] != "0A" else { continue }  // 0A: LISTEN
                let local = fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                let remote = fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                if local == port || remote == port { inodes.insert("socket:[\(fields[9])]") }
            }
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")).map(inodes.contains) ?? false
        }.count
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}

/// Waits up to `seconds` for `condition`.
func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A flag set on one thread and read on another.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
