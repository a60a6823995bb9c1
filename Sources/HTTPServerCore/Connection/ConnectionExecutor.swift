import Glibc
import HTTPServerReactor

/// Where a server's connections run work sent from other threads (a worker's result, a
/// `ResponseStream`'s bytes, an async handler's next step): its event loop, or, for a server of
/// in-memory transports, the test's thread (`PostedWork`). Also the task executor of async
/// handlers.
protocol ConnectionExecutor: TaskExecutor {
    /// Runs `work` on the connections' thread soon. Safe from any thread.
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Runs `work.runOnLoop()` on the connections' thread soon, without allocating. Safe from any
    /// thread.
    func execute(_ work: any EventLoopWork)
    /// Runs `body`, during which a task enqueued from this thread runs at once, up to its first
    /// suspension. The connections' thread only.
    func runningJobsInline<R>(_ body: () throws -> R) rethrows -> R
}

extension EventLoop: ConnectionExecutor {}

/// The reactor's work queue for a server of in-memory transports (tests), which has no event
/// loop: workers and tasks post here, and the test's thread runs what was posted (`runPostedWork`).
final class PostedWork: ConnectionExecutor, @unchecked Sendable {
    private let lock = ConditionLock()
    private var items: [@Sendable () -> Void] = []
    /// The thread inside `runningJobsInline`, if any (under `lock`).
    private var inlineThread: pthread_t?

    func execute(_ work: @escaping @Sendable () -> Void) {
        lock.withLock {
            items.append(work)
            lock.broadcast()
        }
    }

    func execute(_ work: any EventLoopWork) {
        execute { work.runOnLoop() }
    }

    /// Runs posted work on the calling thread until `isDone()` is true (checked after each item)
    /// or `timeout` has passed. Returns `isDone()`.
    func run(until isDone: () -> Bool, timeout: Duration) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = timeout.components
        let deadline = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) + seconds * 1_000_000_000
            + attoseconds / 1_000_000_000
        while !isDone() {
            let batch = lock.withLock { () -> [@Sendable () -> Void] in
                let batch = items
                items = []
                return batch
            }
            for work in batch { work() }
            if batch.isEmpty {
                clock_gettime(CLOCK_MONOTONIC, &now)
                if Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) >= deadline { return isDone() }
                usleep(200)
            }
        }
        return true
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let runsInline = lock.withLock { inlineThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        if runsInline {
            job.runSynchronously(on: asUnownedTaskExecutor())
            return
        }
        execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func runningJobsInline<R>(_ body: () throws -> R) rethrows -> R {
        let was = lock.withLock { () -> pthread_t? in
            let was = inlineThread
            inlineThread = pthread_self()
            return was
        }
        defer { lock.withLock { inlineThread = was } }
        return try body()
    }
}
