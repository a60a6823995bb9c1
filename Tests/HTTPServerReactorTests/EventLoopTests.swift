import Dispatch
import Glibc
import Testing
@testable import HTTPServerReactor

/// Records readiness callbacks for the generic registration API.
final class CountingHandler: EventHandler {
    var readableCount = 0
    var writableCount = 0
    var onReadable: (() -> Void)?
    func readable() { readableCount += 1; onReadable?() }
    func writable() { writableCount += 1 }
}

/// Cross-thread test state; the loop's eventfd hand-off orders the accesses.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension ReactorTests {
@Suite struct EventLoopTests {
    @Test func executeFromAnotherThreadWakesASleepingLoop() throws {
        let loop = try EventLoop()
        let started = Instant.now()
        // No timers are armed by this test except runLoop's 5 s watchdog: a prompt return
        // proves the eventfd woke the loop.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) {
            loop.execute { loop.stop() }
        }
        #expect(try runLoop(loop))
        let elapsed = started.duration(to: .now())
        #expect(elapsed < .seconds(1))
    }

    @Test func executeWakesALoopWithNoTimersAtAll() throws {
        let loop = try EventLoop()
        #expect(loop.armedTimerCount == 0)
        let done = DispatchSemaphore(value: 0)
        let ranOnLoopThread = Box(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) {
            loop.execute { ranOnLoopThread.value = loop.inLoopThread }
            loop.execute { loop.stop() }
            done.signal()
        }
        let started = Instant.now()
        try loop.run()  // epoll_wait(-1): only the eventfd can end this
        #expect(started.duration(to: .now()) < .seconds(2))
        #expect(ranOnLoopThread.value)
        #expect(!loop.inLoopThread)
        done.wait()
    }

    @Test func executeRunsManySubmissionsInOrder() throws {
        let loop = try EventLoop()
        let seen = Box<[Int]>([])
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for i in 0..<1000 { loop.execute { seen.value.append(i) } }
        }
        group.wait()
        loop.execute { loop.stop() }
        #expect(try runLoop(loop))
        #expect(seen.value == Array(0..<1000))
    }

    @Test func staleEventForReusedDescriptorIsDropped() throws {
        let loop = try EventLoop()
        // Two pipes, both readable before run(): one epoll_wait returns both events.
        var first: [Int32] = [0, 0], second: [Int32] = [0, 0]
        #expect(pipe(&first) == 0)
        #expect(pipe(&second) == 0)
        var byte: UInt8 = 1
        _ = write(first[1], &byte, 1)
        _ = write(second[1], &byte, 1)

        let a = CountingHandler(), b = CountingHandler(), newOwner = CountingHandler()
        let registrationA = try loop.register(first[0], interest: .read, handler: a)
        let registrationB = try loop.register(second[0], interest: .read, handler: b)
        var replacement: (registration: Registration, writeEnd: Int32)?
        var survivor: Registration?
        // Whichever fires first deregisters the other, and gives its number to a fresh, empty pipe
        // registered to a new owner -- while the other's event is still in this wake-up's batch.
        func replace(victim: Registration, keeping kept: Registration) {
            guard replacement == nil else { return }
            loop.stop()
            loop.deregister(victim)
            var fresh: [Int32] = [0, 0]
            #expect(pipe(&fresh) == 0)
            #expect(dup2(fresh[0], victim.fd) == victim.fd)  // closes the old read end, reuses its number
            close(fresh[0])
            let registration = try? loop.register(victim.fd, interest: .read, handler: newOwner)
            #expect(registration?.fd == victim.fd)
            #expect(registration?.generation != victim.generation)
            replacement = (registration!, fresh[1])
            survivor = kept
        }
        a.onReadable = { replace(victim: registrationB, keeping: registrationA) }
        b.onReadable = { replace(victim: registrationA, keeping: registrationB) }
        #expect(try runLoop(loop))
        #expect(a.readableCount + b.readableCount == 1)
        #expect(newOwner.readableCount == 0)  // the stale event was dropped

        // The new owner does get its own events, in a later wake-up.
        let (registration, writeEnd) = try #require(replacement)
        loop.deregister(try #require(survivor))
        newOwner.onReadable = { loop.stop() }
        _ = write(writeEnd, &byte, 1)
        #expect(try runLoop(loop))
        #expect(newOwner.readableCount == 1)
        loop.deregister(registration)
        for fd in [first[0], first[1], second[0], second[1], writeEnd] { close(fd) }
    }

    @Test func genericRegistrationModifySkipsNoOpsAndEmptyInterestLeavesEpoll() throws {
        let loop = try EventLoop()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let handler = CountingHandler()
        let registration = try loop.register(fds[1], interest: .write, handler: handler)
        #expect(loop.interest(of: registration) == .write)
        try loop.modify(registration, interest: .write)  // no-op
        try loop.modify(registration, interest: [])
        try loop.modify(registration, interest: .write)
        handler.onReadable = nil
        loop.execute { loop.stop() }
        #expect(try runLoop(loop))
        #expect(handler.writableCount == 1)
        loop.deregister(registration)
        loop.deregister(registration)  // idempotent
        #expect(!loop.isCurrent(registration))
        #expect(loop.interest(of: registration) == nil)
    }

    @Test func signalArrivesThroughSignalfd() throws {
        let loop = try EventLoop()
        var count = 0
        try loop.onSignal(SIGUSR2) { count += 1; loop.stop() }
        // Directed at this thread, which now blocks it: it stays pending for the signalfd.
        #expect(pthread_kill(pthread_self(), SIGUSR2) == 0)
        #expect(try runLoop(loop))
        #expect(count == 1)
    }
}
}

