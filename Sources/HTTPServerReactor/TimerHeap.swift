/// An indexed binary min-heap of timers, ordered by (deadline, sequence).
///
/// Each timer stores its heap index, so removal and re-keying are O(log n) without a search.
/// The storage array only grows (amortized); steady-state arm/disarm allocates nothing.
/// Public so that other schedulers (a manual test clock) can reuse it.
public struct TimerHeap {
    private var storage: [Timer] = []
    private var nextSequence: UInt64 = 0

    /// An empty heap.
    public init() {}

    /// The number of armed timers in the heap.
    public var count: Int { storage.count }
    /// True when no timer is armed.
    public var isEmpty: Bool { storage.isEmpty }

    /// The earliest timer, without removing it.
    // Not `storage.first`: unspecialized (debug) code reads it through a generic coroutine that mallocs.
    public var first: Timer? { storage.isEmpty ? nil : storage[0] }

    /// Arms or moves `timer` to `deadline`.
    public mutating func arm(_ timer: Timer, at deadline: Instant) {
        timer.deadline = deadline
        timer.sequence = nextSequence
        nextSequence &+= 1
        if timer.heapIndex >= 0 {
            precondition(timer.heapIndex < storage.count && storage[timer.heapIndex] === timer,
                         "Timer is armed on another scheduler")
            let index = timer.heapIndex
            if !siftUp(index) { siftDown(index) }
        } else {
            timer.heapIndex = storage.count
            storage.append(timer)
            siftUp(storage.count - 1)
        }
    }

    /// Disarms `timer`; no-op when it is not armed here.
    public mutating func disarm(_ timer: Timer) {
        let index = timer.heapIndex
        guard index >= 0, index < storage.count, storage[index] === timer else { return }
        remove(at: index)
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    public mutating func popExpired(now: Instant) -> Timer? {
        guard let top = first, let deadline = top.deadline, deadline <= now else { return nil }
        remove(at: 0)
        return top
    }

    private mutating func remove(at index: Int) {
        let timer = storage[index]
        let last = storage.count - 1
        if index != last {
            storage.swapAt(index, last)
            storage[index].heapIndex = index
        }
        storage.removeLast()
        timer.heapIndex = -1
        timer.deadline = nil
        if index < storage.count {
            if !siftUp(index) { siftDown(index) }
        }
    }

    @inline(__always)
    private func precedes(_ a: Timer, _ b: Timer) -> Bool {
        let da = a.deadline!, db = b.deadline!
        return da < db || (da == db && a.sequence < b.sequence)
    }

    /// Returns true if the element moved.
    @discardableResult
    private mutating func siftUp(_ start: Int) -> Bool {
        var index = start
        let timer = storage[index]
        while index > 0 {
            let parent = (index - 1) / 2
            guard precedes(timer, storage[parent]) else { break }
            storage[index] = storage[parent]
            storage[index].heapIndex = index
            index = parent
        }
        storage[index] = timer
        timer.heapIndex = index
        return index != start
    }

    private mutating func siftDown(_ start: Int) {
        var index = start
        let timer = storage[index]
        let count = storage.count
        while true {
            let left = 2 * index + 1
            guard left < count else { break }
            var child = left
            if left + 1 < count && precedes(storage[left + 1], storage[left]) { child = left + 1 }
            guard precedes(storage[child], timer) else { break }
            storage[index] = storage[child]
            storage[index].heapIndex = index
            index = child
        }
        storage[index] = timer
        timer.heapIndex = index
    }
}
