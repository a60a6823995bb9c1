// The soak load generator.
//
//   SoakClient mixed PORT TOTAL   keep-alive pipelined requests until TOTAL responses, mixed with bad
//                                 requests, resets, connection churn, slow clients (one header byte
//                                 every half second, until the head timeout) and clients that never
//                                 read a 10 MiB response (the server drops them at its send timeout;
//                                 they reset and come back every 10 s)
//   SoakClient stuck PORT N HOLD  N clients each ask for the 10 MiB response and never read it;
//                                 held HOLD seconds, then closed
//
// Prints one `progress` line a second (responses, rate, bad requests, resets, slow clients cut
// off, non-reading clients cycled, errors) and a `done` line. Exit status 1 when a response was wrong.
import Glibc

setvbuf(stdout, nil, _IOLBF, 0)
signal(SIGPIPE, SIG_IGN)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func connectTo(_ port: Int, receiveBuffer: Int32? = nil) -> Int32 {
    while true {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            // Before connect, so that the window the server sees is small from the start: a client
            // that never reads then pins little kernel memory on either side.
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            return fd
        }
        let error = errno
        close(fd)
        if error != EADDRNOTAVAIL && error != EAGAIN && error != ECONNREFUSED && error != EINTR {
            print("connect failed: errno \(error)")
            exit(2)
        }
        usleep(1000)
    }
}

@discardableResult
func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
                continue
            }
            return false
        }
        return true
    }
}

func resetClose(_ fd: Int32) {
    var l = linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    close(fd)
}

/// Finds complete responses in `buffer[start...]`: returns (status, end) of the first one.
func nextResponse(_ buffer: UnsafeRawBufferPointer, from start: Int) -> (status: Int, end: Int)? {
    let count = buffer.count
    var i = start
    // Header end.
    var headEnd = -1
    while i + 3 < count {
        if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { headEnd = i + 4; break }
        i += 1
    }
    guard headEnd > 0, headEnd - start > 12 else { return nil }
    let status = Int(buffer[start + 9] - 48) * 100 + Int(buffer[start + 10] - 48) * 10 + Int(buffer[start + 11] - 48)
    // Content-Length (case as the server writes it).
    let key = Array("Content-Length: ".utf8)
    var length = 0
    var j = start
    search: while j + key.count < headEnd {
        if buffer[j] == key[0] {
            for k in 1..<key.count where buffer[j + k] != key[k] { j += 1; continue search }
            var p = j + key.count
            while p < headEnd, buffer[p] >= 48, buffer[p] <= 57 { length = length * 10 + Int(buffer[p] - 48); p += 1 }
            break
        }
        j += 1
    }
    guard count - headEnd >= length else { return nil }
    return (status, headEnd + length)
}

struct Counters {
    var responses = 0
    var bad = 0
    var resets = 0
    var churn = 0
    var slowCutOff = 0
    var stuckDropped = 0
    var errors = 0
}

var counters = Counters()
let arguments = CommandLine.arguments
guard arguments.count >= 4, let port = Int(arguments[2]) else {
    print("usage: SoakClient mixed PORT TOTAL | SoakClient stuck PORT N HOLD")
    exit(2)
}

// MARK: Fast keep-alive connections

final class FastConnection {
    var fd: Int32
    var inFlight = 0
    var expectBad = false
    var buffer: [UInt8] = []
    var batches = 0
    init(fd: Int32) { self.fd = fd; buffer.reserveCapacity(1 << 16) }
}

let depth = 16
let request = Array("GET /hello HTTP/1.1\r\nHost: soak\r\n\r\n".utf8)
let batch = Array([[UInt8]](repeating: request, count: depth).joined())
let badRequest = Array("GET /hello HTTP/1.1\r\nHost: soak\r\nBad Header Line\r\n\r\n".utf8)
let halfRequest = Array("GET /hello HTTP/1.1\r\nHost: so".utf8)

func startBatch(_ c: FastConnection, _ serial: Int) {
    c.batches += 1
    if serial % 997 == 0 {
        c.expectBad = true
        c.inFlight = 1
        sendAll(c.fd, badRequest)
    } else if serial % 1009 == 0 {
        sendAll(c.fd, halfRequest)
        resetClose(c.fd)
        counters.resets += 1
        c.fd = connectTo(port)
        c.buffer.removeAll(keepingCapacity: true)
        startBatch(c, serial + 1)
    } else if serial % 211 == 0 {
        close(c.fd)
        counters.churn += 1
        c.fd = connectTo(port)
        c.buffer.removeAll(keepingCapacity: true)
        startBatch(c, serial + 1)
    } else {
        c.inFlight = depth
        sendAll(c.fd, batch)
    }
}

// MARK: Slow and never-reading clients

final class SlowClient {
    var fd: Int32
    var sent = 0
    var received: [UInt8] = []
    init(fd: Int32) { self.fd = fd }
}
let slowHead = Array(("GET /hello HTTP/1.1\r\nHost: soak\r\nX-Slow: " + String(repeating: "s", count: 200)).utf8)

final class StuckClient {
    var fd: Int32
    init(fd: Int32) { self.fd = fd }
}
let bigRequest = Array("GET /big HTTP/1.1\r\nHost: soak\r\n\r\n".utf8)


var chunk = [UInt8](repeating: 0, count: 1 << 16)

func runMixed(total: Int) {
    let fast = (0..<64).map { _ in FastConnection(fd: connectTo(port)) }
    let slow = (0..<100).map { _ in SlowClient(fd: connectTo(port)) }
    let stuck = (0..<50).map { _ -> StuckClient in
        let c = StuckClient(fd: connectTo(port, receiveBuffer: 4096))
        sendAll(c.fd, bigRequest)
        return c
    }
    var serial = 1
    for c in fast { startBatch(c, serial); serial += 1 }
    var pollSet = [pollfd](repeating: pollfd(), count: fast.count)
    let start = now()
    var lastReport = start, lastSlow = start, lastStuck = start
    var lastResponses = 0
    while counters.responses < total {
        for i in fast.indices { pollSet[i] = pollfd(fd: fast[i].fd, events: Int16(POLLIN), revents: 0) }
        _ = poll(&pollSet, nfds_t(pollSet.count), 100)
        for i in fast.indices where pollSet[i].revents != 0 {
            let c = fast[i]
            let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                // Closed by the server: expected only after the bad request's 400.
                if !(c.expectBad && c.inFlight == 0) { counters.errors += 1 }
                close(c.fd)
                c.fd = connectTo(port)
                c.buffer.removeAll(keepingCapacity: true)
                c.expectBad = false
                startBatch(c, serial); serial += 1
                continue
            }
            c.buffer.append(contentsOf: chunk[0..<n])
            var consumed = 0
            c.buffer.withUnsafeBytes { raw in
                while c.inFlight > 0, let (status, end) = nextResponse(raw, from: consumed) {
                    consumed = end
                    c.inFlight -= 1
                    if c.expectBad {
                        if status == 400 { counters.bad += 1 } else { counters.errors += 1 }
                    } else if status == 200 {
                        counters.responses += 1
                    } else {
                        counters.errors += 1
                    }
                }
            }
            if consumed > 0 { c.buffer.removeFirst(consumed) }
            if c.inFlight == 0 && !c.expectBad {
                startBatch(c, serial); serial += 1
            }
            // After a 400 the server closes: wait for it (the read of 0 above).
        }
        let t = now()
        if t - lastSlow >= 0.5 {
            lastSlow = t
            for s in slow {
                if s.sent < slowHead.count {
                    if send(s.fd, [slowHead[s.sent]], 1, Int32(MSG_NOSIGNAL)) == 1 { s.sent += 1 }
                }
                while true {
                    let n = chunk.withUnsafeMutableBytes { recv(s.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { s.received += chunk[0..<n]; continue }
                    if n < 0 && errno == EAGAIN { break }
                    // Cut off: a 408, then the close.
                    if s.received.starts(with: Array("HTTP/1.1 408 ".utf8)) { counters.slowCutOff += 1 } else { counters.errors += 1 }
                    close(s.fd)
                    s.fd = connectTo(port)
                    s.sent = 0
                    s.received.removeAll()
                    break
                }
            }
        }
        if t - lastStuck >= 10 {
            // A client that never reads cannot see the server give up on it (the FIN waits behind
            // the unread data): the server's descriptor count shows it. Every 10 s these clients
            // go away (reset) and come back.
            lastStuck = t
            for s in stuck {
                counters.stuckDropped += 1
                resetClose(s.fd)
                s.fd = connectTo(port, receiveBuffer: 4096)
                sendAll(s.fd, bigRequest)
            }
        }
        if t - lastReport >= 1 {
            let rate = Double(counters.responses - lastResponses) / (t - lastReport)
            lastReport = t
            lastResponses = counters.responses
            print("progress \(counters.responses) \(Int(rate)) bad=\(counters.bad) resets=\(counters.resets) churn=\(counters.churn) slow408=\(counters.slowCutOff) stuckCycled=\(counters.stuckDropped) errors=\(counters.errors)")
        }
    }
    let elapsed = now() - start
    for c in fast { close(c.fd) }
    for s in slow { close(s.fd) }
    for s in stuck { resetClose(s.fd) }
    print("done \(counters.responses) in \(Int(elapsed * 10) / 10).\(Int(elapsed * 10) % 10) s = \(Int(Double(counters.responses) / elapsed)) req/s bad=\(counters.bad) resets=\(counters.resets) churn=\(counters.churn) slow408=\(counters.slowCutOff) stuckCycled=\(counters.stuckDropped) errors=\(counters.errors)")
    exit(counters.errors == 0 ? 0 : 1)
}

func runStuck(clients: Int, hold: Double) {
    var fds: [Int32] = []
    fds.reserveCapacity(clients)
    let start = now()
    for _ in 0..<clients {
        let fd = connectTo(port, receiveBuffer: 4096)
        sendAll(fd, bigRequest)
        fds.append(fd)
    }
    print("stuck \(clients) connected in \(Int((now() - start) * 1000)) ms")
    usleep(useconds_t(hold * 1e6))
    for fd in fds { resetClose(fd) }
    print("done stuck \(clients) held \(hold) s")
    exit(0)
}

switch arguments[1] {
case "mixed":
    runMixed(total: Int(arguments[3]) ?? 10_000_000)
case "stuck":
    runStuck(clients: Int(arguments[3]) ?? 10_000, hold: arguments.count > 4 ? Double(arguments[4]) ?? 15 : 15)
default:
    print("unknown mode \(arguments[1])")
    exit(2)
}
