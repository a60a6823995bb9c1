import CHTTPServerReactor
import Synchronization  // Atomic

/// The single-threaded epoll reactor.
///
/// Level-triggered epoll by default (sockets ask for edge-triggered, `Interest.edge`), a
/// registration table indexed by descriptor with a generation number packed into
/// `epoll_event.data.u64` (so an event for a descriptor that was closed and reused within the same
/// wake-up is dropped, never delivered to the new owner), a timer heap whose nearest deadline is
/// epoll_wait's timeout (no timers: it sleeps indefinitely), and an eventfd for `execute(_:)`.
///
/// Everything but `execute(_:)` and `inLoopThread` must be called on the loop thread (or before `run()`).
/// The registration table owns its handlers (e.g. each `SocketTransport`) until they deregister.
public final class EventLoop: TimerScheduler, @unchecked Sendable {
    // Linux ABI values: the EPOLL_EVENTS enum imports as a Swift struct, and these are fixed.
    static let epollIn: UInt32 = 0x001
    static let epollOut: UInt32 = 0x004
    static let epollErr: UInt32 = 0x008
    static let epollHup: UInt32 = 0x010
    static let epollRdHup: UInt32 = 0x2000
    static let epollET: UInt32 = 0x8000_0000
    static let epollExclusive: UInt32 = 0x1000_0000

    struct Slot {
        var generation: UInt32 = 0
        var handler: EventHandler?
        var interest: Interest = []
    }

    // Loop-thread state, read and written on every wake-up: no dynamic exclusivity checks (the loop
    // is single-threaded, and no access to these overlaps another).
    private let epollFD: Int32
    private let maxEvents: Int32
    /// Allocated once; epoll_wait fills it every wake-up.
    private let events: UnsafeMutablePointer<epoll_event>
    private var slots: [Slot] = []

    /// The loop-owned read buffer every `SocketTransport` reads into: bytes are valid only during
    /// `bytesReceived`, which is what lets 10,000 idle connections cost no read buffers.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// The loop-owned iovec array for gathering writes.
    let iovecs: UnsafeMutablePointer<iovec>
    let iovecCapacity: Int

    private var timers = TimerHeap()
    /// epoll_ctl calls made (tests check that unchanged interest costs none).
    private(set) var epollControlCount = 0
    private var cachedNow: Instant
    private var isStopping = false
    private var isRunning = false

    let wakeFD: Int32
    /// Set (on the loop thread) while `runningJobsInline` runs: a task enqueued then runs at once.
    var runsJobsInline = false
    /// What `execute` queued, in order (EventLoop+Execute.swift).
    let posted = Lock<[PostedItem]>([])
    /// The drained queue's storage, kept for the next drain (loop thread): taking the queue leaves
    /// an array with capacity behind instead of one that the next post must allocate.
    var spareBatch: [PostedItem] = []
    /// True while `posted` is not empty (set and cleared under its lock).
    let hasPosted = Atomic<Bool>(false)
    /// `WakeState`: whether `execute` must write the eventfd.
    let wakeState = Atomic<Int>(WakeState.awake)
    private let loopThread = Atomic<UInt>(0)

    var acceptors: [ObjectIdentifier: Acceptor] = [:]
    /// How long accepting stays paused after EMFILE/ENFILE (and similar) before it is retried.
    public var acceptRetryDelay: Duration = .milliseconds(100)

    /// How transports, pipes and child processes refer to the loop (they may outlive it).
    public let link = Link()

    /// A reference to a loop that may be kept past the loop's life: `loop` reads nil once the
    /// loop is gone. What `weak var loop` would be, without its cost: one weak reference gives the
    /// loop a side table, and from then on every retain and release of the loop takes the
    /// runtime's slow path (callgrind: −134 instructions per keep-alive request, 7,065 → 6,931).
    public final class Link: @unchecked Sendable {
        /// The loop, until it is freed. Read on the loop's thread, or where the loop cannot be
        /// freed meanwhile.
        public fileprivate(set) unowned(unsafe) var loop: EventLoop?
    }

    var signalFD: Int32 = -1
    var signalSet = sigset_t()
    var signalHandlers: [Int32: [() -> Void]] = [:]

    /// Creates the epoll instance and the wake-up eventfd, and ignores SIGPIPE for the process
    /// (a write to a reset peer must be an EPIPE error, never death).
    /// - Parameters:
    ///   - readBufferSize: the shared read buffer; the most one read can return.
    ///   - maxEventsPerWakeup: the size of the epoll_event array.
    public init(readBufferSize: Int = 64 * 1024, maxEventsPerWakeup: Int = 1024) throws(SystemError) {
        creactor_ignore_sigpipe()
        let epoll = FileDescriptor(rawValue: try systemCall("epoll_create1") { creactor_epoll_create() })
        let wake = FileDescriptor(rawValue: try systemCall("eventfd") { creactor_eventfd_create() })
        maxEvents = Int32(max(1, maxEventsPerWakeup))
        events = .allocate(capacity: Int(maxEvents))
        readBuffer = .allocate(byteCount: max(1, readBufferSize), alignment: 16)
        iovecCapacity = Int(creactor_iov_max())
        iovecs = .allocate(capacity: iovecCapacity)
        creactor_sigemptyset(&signalSet)
        cachedNow = .now()
        epollFD = epoll.release()
        wakeFD = wake.release()
        link.loop = self
        // If this throws, deinit closes and frees everything above.
        _ = try register(wakeFD, interest: .read, handler: WakeUpHandler(loop: self))
    }

    deinit {
        // What kept a link finds no loop from now on (transports dropped below included).
        link.loop = nil
        // Drop handlers first: transports close their sockets in their own deinit.
        slots.removeAll()
        acceptors.removeAll()
        _ = CHTTPServerReactor.close(epollFD)
        _ = CHTTPServerReactor.close(wakeFD)
        if signalFD >= 0 { _ = CHTTPServerReactor.close(signalFD) }
        events.deallocate()
        readBuffer.deallocate()
        iovecs.deallocate()
    }

    // MARK: Registration

    /// Registers `fd` with `interest`; the loop holds `handler` strongly until `deregister`.
    /// Registering a descriptor that is already registered is a programmer error (deregister first).
    public func register(_ fd: Int32, interest: Interest, handler: EventHandler) throws(SystemError) -> Registration {
        precondition(fd >= 0, "register: invalid descriptor \(fd)")
        let index = Int(fd)
        if index >= slots.count {
            slots.append(contentsOf: repeatElement(Slot(), count: Swift.max(index + 1, slots.count * 2) - slots.count))
        }
        precondition(slots[index].handler == nil, "register: descriptor \(fd) is already registered")
        let registration = Registration(fd: fd, generation: slots[index].generation &+ 1)
        if !interest.isEmpty {
            try epollControl(EPOLL_CTL_ADD, registration, interest)
        }
        slots[index] = Slot(generation: registration.generation, handler: handler, interest: interest)
        return registration
    }

    /// Changes what `registration` waits for. A no-op (no epoll_ctl) when the interest is unchanged.
    /// An empty interest removes the descriptor from epoll until interest is set again.
    public func modify(_ registration: Registration, interest: Interest) throws(SystemError) {
        let index = Int(registration.fd)
        precondition(isCurrent(registration), "modify: stale registration for descriptor \(registration.fd)")
        let old = slots[index].interest
        if old == interest { return }
        if old.isEmpty {
            try epollControl(EPOLL_CTL_ADD, registration, interest)
        } else if interest.isEmpty {
            try epollControl(EPOLL_CTL_DEL, registration, interest)
        } else if old.contains(.exclusive) || interest.contains(.exclusive) {
            // EPOLLEXCLUSIVE cannot be modified in place (EINVAL).
            try epollControl(EPOLL_CTL_DEL, registration, old)
            try epollControl(EPOLL_CTL_ADD, registration, interest)
        } else {
            try epollControl(EPOLL_CTL_MOD, registration, interest)
        }
        slots[index].interest = interest
    }

    /// EPOLL_CTL_MOD with the unchanged interest: epoll looks at the descriptor again and reports it
    /// if it is ready. An edge-triggered handler uses it when it stops before the descriptor is
    /// drained, or wants to hear about a readiness it has no edge for.
    func rearm(_ registration: Registration) throws(SystemError) {
        let index = Int(registration.fd)
        precondition(isCurrent(registration), "rearm: stale registration for descriptor \(registration.fd)")
        let interest = slots[index].interest
        if interest.isEmpty { return }
        try epollControl(EPOLL_CTL_MOD, registration, interest)
    }

    /// Removes `registration` and releases its handler; events already fetched for it are dropped.
    /// Harmless if it is already deregistered. Call before closing the descriptor. With
    /// `descriptorClosing`, the caller closes the descriptor right after (and holds no duplicate of
    /// it): closing removes it from epoll, so no `EPOLL_CTL_DEL` is made — one system call less per
    /// connection; any event still queued for it is dropped by its generation.
    public func deregister(_ registration: Registration, descriptorClosing: Bool = false) {
        guard isCurrent(registration) else { return }
        let index = Int(registration.fd)
        if !slots[index].interest.isEmpty && !descriptorClosing {
            // Fails only if the descriptor was already closed, which removed it from epoll anyway.
            try? epollControl(EPOLL_CTL_DEL, registration, [])
        }
        let handler = slots[index].handler
        slots[index].handler = nil
        slots[index].interest = []
        // The next registration of this number gets a new generation (register bumps it again).
        slots[index].generation &+= 1
        _ = handler  // released here, after the slot no longer refers to it
    }

    /// The current interest of a live registration, or nil if it is stale.
    public func interest(of registration: Registration) -> Interest? {
        isCurrent(registration) ? slots[Int(registration.fd)].interest : nil
    }

    /// True while `registration` is the live registration of its descriptor.
    public func isCurrent(_ registration: Registration) -> Bool {
        let index = Int(registration.fd)
        return index >= 0 && index < slots.count
            && slots[index].handler != nil && slots[index].generation == registration.generation
    }

    private func epollControl(_ op: Int32, _ registration: Registration, _ interest: Interest) throws(SystemError) {
        var bits: UInt32 = 0
        if interest.contains(.read) { bits |= EventLoop.epollIn }
        if interest.contains(.write) { bits |= EventLoop.epollOut }
        if interest.contains(.hangup) && !interest.contains(.read) { bits |= EventLoop.epollRdHup | EventLoop.epollET }
        // Edge-triggered reading also asks for EPOLLRDHUP: a FIN that arrives with the last bytes
        // brings no edge of its own, so the reader must learn of it from this event.
        if interest.contains(.exclusive) { bits |= EventLoop.epollExclusive }
        if interest.contains(.edge) {
            bits |= EventLoop.epollET
            if interest.contains(.read) { bits |= EventLoop.epollRdHup }
        }
        var event = creactor_make_event(bits, registration.token)
        epollControlCount += 1
        _ = try systemCall("epoll_ctl") { epoll_ctl(epollFD, op, registration.fd, &event) }
    }

    // MARK: Timers

    /// The loop's cached monotonic time (refreshed once per wake-up).
    public var now: Instant { cachedNow }

    /// Arms or moves `timer` (O(log n), no allocation in steady state). Loop thread only.
    public func arm(_ timer: Timer, at deadline: Instant) { timers.arm(timer, at: deadline) }

    /// Disarms `timer`; harmless if not armed. Loop thread only.
    public func disarm(_ timer: Timer) { timers.disarm(timer) }

    /// Number of armed timers.
    public var armedTimerCount: Int { timers.count }

    /// epoll_pwait2's timeout: -1 (forever) with no timers, else the nanoseconds to the nearest
    /// deadline.
    private func waitTimeoutNanoseconds() -> Int64 {
        if isStopping { return 0 }
        guard let deadline = timers.first?.deadline else { return -1 }
        return max(0, deadline.nanoseconds &- Instant.now().nanoseconds)
    }

    /// False once the kernel has said it has no epoll_pwait2 (before 5.11): epoll_wait then.
    private var waitsInNanoseconds = true

    /// epoll_wait's timeout: -1 (forever) with no timers, else the time to the nearest deadline,
    /// rounded up so the wake-up is never early.
    private func waitTimeout() -> Int32 {
        if isStopping { return 0 }
        guard let deadline = timers.first?.deadline else { return -1 }
        let remaining = deadline.nanoseconds &- Instant.now().nanoseconds
        if remaining <= 0 { return 0 }
        let milliseconds = (remaining + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }

    private func fireTimers() {
        // Bounded by the count at the start, so a timer that re-arms itself in the past
        // cannot keep this wake-up going forever; it fires on the next one.
        var budget = timers.count
        while budget > 0, let timer = timers.popExpired(now: cachedNow) {
            budget -= 1
            timer.action()
        }
    }

    // MARK: Running

    /// Runs until `stop()`.
    public func run() throws(SystemError) {
        precondition(!isRunning, "run: the loop is already running")
        isRunning = true
        loopThread.store(UInt(pthread_self()), ordering: .releasing)
        defer {
            loopThread.store(0, ordering: .releasing)
            isRunning = false
            isStopping = false
        }
        cachedNow = .now()
        while !isStopping {
            // Dekker with `execute`: announce the sleep, then look at the queue. A post that this
            // look misses sees `sleeping` and writes the eventfd; one that sees `awake` is drained
            // below, before the next sleep.
            wakeState.store(WakeState.sleeping, ordering: .sequentiallyConsistent)
            let hasWork = hasPosted.load(ordering: .sequentiallyConsistent)
            let count = waitsInNanoseconds
                ? creactor_epoll_wait_ns(epollFD, events, maxEvents, hasWork ? 0 : waitTimeoutNanoseconds())
                : epoll_wait(epollFD, events, maxEvents, hasWork ? 0 : waitTimeout())
            wakeState.store(WakeState.awake, ordering: .sequentiallyConsistent)
            if count < 0 {
                let error = creactor_errno()
                if error == EINTR { continue }
                if error == ENOSYS && waitsInNanoseconds {
                    waitsInNanoseconds = false
                    continue
                }
                throw SystemError(call: "epoll_wait", errno: error)
            }
            cachedNow = .now()
            dispatch(count: Int(count))
            // Posted while the loop was awake (no eventfd write), or before the sleep.
            if hasPosted.load(ordering: .sequentiallyConsistent) { drainPosted() }
            fireTimers()
        }
    }

    private func dispatch(count: Int) {
        for index in 0..<count {
            let event = events + index
            let flags = creactor_event_events(event)
            let registration = Registration(token: creactor_event_data(event))
            // A stale event: the descriptor was deregistered (and maybe reused) earlier in this wake-up.
            guard isCurrent(registration) else { continue }
            let slot = Int(registration.fd)
            // Held locally: the handler may deregister itself, releasing the table's reference.
            let handler = slots[slot].handler!
            eventReportsPeerClosed = flags & (EventLoop.epollRdHup | EventLoop.epollHup | EventLoop.epollErr) != 0
            if flags & (EventLoop.epollIn | EventLoop.epollHup | EventLoop.epollErr | EventLoop.epollRdHup) != 0,
               slots[slot].interest.contains(.read) {
                handler.readable()
            }
            if flags & (EventLoop.epollOut | EventLoop.epollHup | EventLoop.epollErr) != 0,
               isCurrent(registration), slots[slot].interest.contains(.write) {
                handler.writable()
            }
            if flags & (EventLoop.epollRdHup | EventLoop.epollHup | EventLoop.epollErr) != 0,
               isCurrent(registration), slots[slot].interest.contains(.hangup), !slots[slot].interest.contains(.read) {
                handler.hangup()
            }
        }
    }

    /// While a handler is called from `dispatch`: the event said the peer closed (EPOLLRDHUP, HUP or
    /// ERR), so an edge-triggered reader must read on to the end of the stream.
    private(set) var eventReportsPeerClosed = false

    /// Ends `run()` after the current wake-up. Loop thread only; from elsewhere use `execute { loop.stop() }`.
    public func stop() { isStopping = true }

    /// True on the thread running `run()`.
    public var inLoopThread: Bool {
        loopThread.load(ordering: .acquiring) == UInt(pthread_self())
    }
}
