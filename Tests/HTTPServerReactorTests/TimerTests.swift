import Testing
@testable import HTTPServerReactor

extension ReactorTests {
@Suite struct TimerTests {
    @Test func timersFireInDeadlineOrder() throws {
        let loop = try EventLoop()
        var fired: [Int] = []
        let base = loop.now
        let offsets = [30, 10, 20, 10, 0]
        let timers = offsets.enumerated().map { index, _ in Timer { fired.append(index) } }
        for (index, offset) in offsets.enumerated() {
            loop.arm(timers[index], at: base.advanced(by: .milliseconds(offset)))
        }
        let last = Timer { loop.stop() }
        loop.arm(last, at: base.advanced(by: .milliseconds(40)))
        #expect(try runLoop(loop))
        // Equal deadlines fire in arming order.
        #expect(fired == [4, 1, 3, 2, 0])
        #expect(timers.allSatisfy { !$0.isArmed })
    }

    @Test func disarmAndRearm() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let cancelled = Timer { fired.append("cancelled") }
        let moved = Timer { fired.append("moved") }
        let marker = Timer { fired.append("marker") }
        loop.arm(cancelled, after: .milliseconds(5))
        loop.arm(moved, after: .milliseconds(5))
        loop.arm(marker, after: .milliseconds(20))
        loop.arm(moved, after: .milliseconds(40))  // re-arm moves it later, not a second copy
        loop.disarm(cancelled)
        loop.disarm(cancelled)  // harmless
        #expect(!cancelled.isArmed)
        #expect(loop.armedTimerCount == 2)
        let end = Timer { loop.stop() }
        loop.arm(end, after: .milliseconds(60))
        #expect(try runLoop(loop))
        #expect(fired == ["marker", "moved"])
    }

    @Test func actionsMayArmAndDisarmTimersWhileFiring() throws {
        let loop = try EventLoop()
        var log: [String] = []
        let victim = Timer { log.append("victim") }
        var selfRearming: Timer!
        var count = 0
        selfRearming = Timer {
            count += 1
            log.append("tick\(count)")
            if count < 3 { loop.arm(selfRearming, at: loop.now) } // due at once: next wake-up, no livelock
            else { loop.stop() }
        }
        let killer = Timer { loop.disarm(victim); log.append("killer") }
        let now = loop.now
        loop.arm(killer, at: now.advanced(by: .milliseconds(1)))
        loop.arm(victim, at: now.advanced(by: .milliseconds(1)))  // same deadline, armed after the killer
        loop.arm(selfRearming, at: now.advanced(by: .milliseconds(2)))
        #expect(try runLoop(loop))
        #expect(log == ["killer", "tick1", "tick2", "tick3"])
    }

    @Test func tenThousandTimersFireInOrder() throws {
        let loop = try EventLoop()
        let count = 10_000
        var fired: [Instant] = []
        fired.reserveCapacity(count)
        var deadlines = [Instant](repeating: Instant(nanoseconds: 0), count: count)
        let timers = (0..<count).map { index in Timer { fired.append(deadlines[index]) } }
        let base = loop.now
        var generator = SystemRandomNumberGenerator()
        func armRandomly(_ index: Int) {
            deadlines[index] = base.advanced(by: .microseconds(Int.random(in: 0..<50_000, using: &generator)))
            loop.arm(timers[index], at: deadlines[index])
        }
        for index in 0..<count { armRandomly(index) }
        // Disarm a tenth and re-arm another tenth: both in place, O(log n).
        for index in 0..<1000 { loop.disarm(timers[index]) }
        for index in 1000..<2000 { armRandomly(index) }
        #expect(loop.armedTimerCount == count - 1000)
        let end = Timer { loop.stop() }
        loop.arm(end, at: base.advanced(by: .milliseconds(60)))
        #expect(try runLoop(loop))
        #expect(fired.count == count - 1000)
        #expect(zip(fired, fired.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(loop.armedTimerCount == 0)
    }

    @Test func heapStaysConsistentUnderRandomOperations() {
        var heap = TimerHeap()
        let timers = (0..<500).map { _ in Timer {} }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let timer = timers[Int.random(in: 0..<timers.count, using: &generator)]
            if Bool.random(using: &generator) {
                heap.arm(timer, at: Instant(nanoseconds: Int64.random(in: 0..<1000, using: &generator)))
            } else {
                heap.disarm(timer)
            }
        }
        var last = Instant(nanoseconds: -1)
        var popped = 0
        let armed = timers.filter(\.isArmed).count
        while let next = heap.first?.deadline {
            let timer = heap.popExpired(now: Instant(nanoseconds: .max))
            #expect(timer?.deadline == nil)
            #expect(next >= last)
            last = next
            popped += 1
        }
        #expect(popped == armed)
    }
}
}

