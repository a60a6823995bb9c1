import CHTTPServerReactor
import Synchronization  // Atomic

/// Work that other threads post to an `EventLoop` as an object rather than a closure: a closure
/// that captures anything is allocated at every post, an object posted again and again (a worker
/// pool's job, reused per request) is only retained.
public protocol EventLoopWork: AnyObject, Sendable {
    /// Runs on the loop thread.
    func runOnLoop()
}

/// An item of the loop's `execute` queue.
enum PostedItem {
    case closure(@Sendable () -> Void)
    case object(any EventLoopWork)
}

/// Whether a post must write the loop's eventfd: only when the loop sleeps (or is about to) and
/// no other post has written it since. A loop that is awake drains its queue before it sleeps
/// again, so a worker that answers while the reactor is busy costs no system call.
enum WakeState {
    /// Running (or not started): the queue is looked at before the next sleep.
    static let awake = 0
    /// About to call, or in, epoll_wait.
    static let sleeping = 1
    /// Sleeping, and a post has written the eventfd.
    static let notified = 2
}

extension EventLoop {
    /// Runs `work` on the loop thread soon. Safe from any thread: a loop sleeping with no timers
    /// wakes at once (eventfd). Work submitted before `run()` runs on its first wake-up.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        post(.closure(work))
    }

    /// Runs `work.runOnLoop()` on the loop thread soon, as `execute(_:)` does a closure, without
    /// allocating.
    public func execute(_ work: any EventLoopWork) {
        post(.object(work))
    }

    private func post(_ work: PostedItem) {
        posted.withLock { queue in
            queue.append(work)
            hasPosted.store(true, ordering: .sequentiallyConsistent)
        }
        // The other half of `run()`'s Dekker: queued, then look whether the loop sleeps. The
        // eventfd is written once per sleep, by the first post that finds the loop sleeping.
        if wakeState.compareExchange(expected: WakeState.sleeping, desired: WakeState.notified,
                                     ordering: .sequentiallyConsistent).exchanged {
            var one: UInt64 = 1
            _ = try? systemCall("write") { CHTTPServerReactor.write(wakeFD, &one, 8) }
        }
    }

    /// Runs what is queued (loop thread). An item queued meanwhile waits for the next drain: it
    /// is either seen by the check after this wake-up's events or wakes the loop's next sleep.
    func drainPosted() {
        var batch = spareBatch
        spareBatch = []
        posted.withLock { queue in
            swap(&queue, &batch)
            hasPosted.store(false, ordering: .sequentiallyConsistent)
        }
        for work in batch {
            switch work {
            case .closure(let body): body()
            case .object(let object): object.runOnLoop()
            }
        }
        batch.removeAll(keepingCapacity: true)
        spareBatch = batch
    }

    /// The eventfd was written: reads it (so that it stops being readable), then drains.
    func wokenUp() {
        var counter: UInt64 = 0
        _ = CHTTPServerReactor.read(wakeFD, &counter, 8)
        drainPosted()
    }
}

/// The eventfd's handler. Unowned: the loop owns its table, so a strong reference would be a cycle.
final class WakeUpHandler: EventHandler {
    unowned let loop: EventLoop
    init(loop: EventLoop) { self.loop = loop }
    func readable() { loop.wokenUp() }
    func writable() {}
}
