import HTTPServerReactor

/// The deadlines of a loop's connections, one first-in-first-out list per kind of timeout.
///
/// Every connection waiting for the same kind of timeout (idle, head, body, send, linger) waits
/// the same duration, so deadlines are appended in increasing order: a doubly linked list threaded
/// through the connections keeps them sorted, re-arming a connection is an unlink and an append
/// (O(1), no allocation), and one reactor timer per kind watches the list's head. Connections
/// hold no timer object of their own.
final class TimeoutQueue {
    enum Kind: UInt8, CaseIterable {
        case idle, head, body, send, linger
    }

    /// A connection's place in its list: the kind of timeout, its deadline and its neighbours.
    /// A connection is taken off its list when it closes, and at the latest when it is freed.
    struct Link {
        var kind: UInt8 = HTTPConnection.noTimeout
        var deadline: Int64 = .max
        // callgrind: −71 instructions per keep-alive request (safe: unlinked on close and in deinit)
        unowned(unsafe) var previous: HTTPConnection?
        // callgrind: −34 instructions per keep-alive request (safe: unlinked on close and in deinit)
        unowned(unsafe) var next: HTTPConnection?
    }

    private struct List {
        // callgrind: −127 instructions per keep-alive request (safe: unlinked on close and in deinit)
        unowned(unsafe) var first: HTTPConnection?
        // callgrind: −152 instructions per keep-alive request (safe: unlinked on close and in deinit)
        unowned(unsafe) var last: HTTPConnection?
        var armedAt: Int64 = .max
    }

    private unowned let clock: TimerScheduler
    private let durations: [Int64]
    // callgrind: −693 instructions per keep-alive request
    @exclusivity(unchecked) private var lists = [List](repeating: List(), count: Kind.allCases.count)
    private var timers: [Timer] = []

    init(clock: TimerScheduler, durations: [Kind: Int64]) {
        self.clock = clock
        self.durations = Kind.allCases.map { durations[$0] ?? .max }
        timers = Kind.allCases.map { kind in Timer { [unowned self] in self.expire(kind) } }
    }

    /// Puts `connection` at the end of `kind`'s list, due `kind`'s duration from now.
    func schedule(_ connection: HTTPConnection, _ kind: Kind) {
        // A transport may report a close synchronously (from resumeReading() or awaitWritable(),
        // when epoll_ctl fails): a closed connection is about to be freed and must not be listed.
        guard connection.state != .closed else { return remove(connection) }
        let k = Int(kind.rawValue)
        let deadline = clock.now.nanoseconds &+ durations[k]
        if connection.timeoutLink.kind == kind.rawValue && connection.timeoutLink.next == nil {
            // Already last on this list: the later deadline keeps it sorted where it is.
            connection.timeoutLink.deadline = deadline
            return
        }
        remove(connection)
        connection.timeoutLink.deadline = deadline
        connection.timeoutLink.kind = kind.rawValue
        connection.timeoutLink.previous = lists[k].last
        connection.timeoutLink.next = nil
        if let last = lists[k].last {
            last.timeoutLink.next = connection
        } else {
            lists[k].first = connection
            arm(k, at: deadline)
        }
        lists[k].last = connection
    }

    /// Takes `connection` off whatever list it is on.
    func remove(_ connection: HTTPConnection) {
        let raw = connection.timeoutLink.kind
        guard raw != HTTPConnection.noTimeout else { return }
        let k = Int(raw)
        if let previous = connection.timeoutLink.previous {
            previous.timeoutLink.next = connection.timeoutLink.next
        } else {
            lists[k].first = connection.timeoutLink.next
        }
        if let next = connection.timeoutLink.next {
            next.timeoutLink.previous = connection.timeoutLink.previous
        } else {
            lists[k].last = connection.timeoutLink.previous
        }
        connection.timeoutLink.previous = nil
        connection.timeoutLink.next = nil
        connection.timeoutLink.kind = HTTPConnection.noTimeout
        // The list's timer stays armed; it finds nothing due and re-arms for the new first.
    }

    private func arm(_ k: Int, at deadline: Int64) {
        guard deadline < lists[k].armedAt else { return }
        lists[k].armedAt = deadline
        clock.arm(timers[k], at: Instant(nanoseconds: deadline))
    }

    private func expire(_ kind: Kind) {
        let k = Int(kind.rawValue)
        lists[k].armedAt = .max
        let now = clock.now.nanoseconds
        while let connection = lists[k].first, connection.timeoutLink.deadline <= now {
            remove(connection)
            connection.timedOut(kind)
        }
        if let first = lists[k].first {
            arm(k, at: first.timeoutLink.deadline)
        }
    }
}
