import Glibc

/// A mutex and its condition variable (pthreads: the reactor module's `Mutex` has no wait).
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (the lock held, inside `withLock`) until `isDone` is true; woken by `broadcast()` or `signal()`.
    func wait(until isDone: () -> Bool) {
        while !isDone() { pthread_cond_wait(condition, mutex) }
    }

    /// Waits once (the lock held, inside `withLock`): until `broadcast()`, `signal()`, or a
    /// spurious wake-up.
    func waitOnce() {
        pthread_cond_wait(condition, mutex)
    }

    /// As `wait(until:)`, but gives up after `milliseconds`; returns `isDone()`.
    func wait(until isDone: () -> Bool, milliseconds: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += milliseconds / 1000
        deadline.tv_nsec += (milliseconds % 1000) * 1_000_000
        if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_sec += 1; deadline.tv_nsec -= 1_000_000_000 }
        while !isDone() {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return isDone() }
        }
        return true
    }

    /// Wakes every waiter; call inside `withLock`.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Wakes one waiter; call inside `withLock`, or after it where a waiter cannot have left
    /// meanwhile.
    func signal() {
        pthread_cond_signal(condition)
    }
}

/// The threads of a `ThreadingHTTPServer`: a fixed number of threads that take jobs from a queue
/// in order. Python's `socketserver.ThreadingMixIn` starts a thread per request; a bounded pool
/// keeps a burst of requests from starting thousands of threads.
///
/// The pool never refuses and never waits: `HandlerWorkers` (on the reactor) submits at most
/// `threadCount + queueLength` jobs at a time, so the queue never holds more than `queueLength`.
/// The threads start with the first job.
final class WorkerPool: @unchecked Sendable {
    let threadCount: Int
    private let lock = ConditionLock()
    // Under `lock`:
    private var queue: [WorkItem] = []
    private var queueHead = 0
    private var isStopping = false
    private var threads: [pthread_t] = []
    private var isStarted = false
    /// Threads waiting on the condition for a job.
    private var idleThreads = 0
    /// A thread has been signalled and has not taken the lock yet. While one is on its way nobody
    /// signals another: it signals the next itself if it finds more jobs than it takes (`work()`).
    private var isWaking = false

    init(threadCount: Int) {
        precondition(threadCount > 0, "a worker pool needs at least one thread")
        self.threadCount = threadCount
    }

    /// Queues `job`; a free thread runs it.
    ///
    /// Hand-overs are batched, as Go's scheduler does with its spinning threads: a thread that
    /// finishes a job takes the next without sleeping; an idle thread is signalled only when no
    /// other is on its way; and a thread that was woken and takes a job signals the next if jobs
    /// are still waiting. A burst of handlers that block thus still runs in parallel (one wake-up
    /// after another), while jobs that running threads keep up with wake nobody. Measured with
    /// `bench-server hello --threads 64` (server on one core, `wrk -c64` on the other): 5.5 futex
    /// calls and 4.1 context switches per request when every job signalled (under the lock),
    /// 2.6 and 1.6 with one signal per queued job (after the unlock), 1.1 and 0.7 this way.
    func submit(_ job: WorkItem) {
        let (wakes, startsThreads) = lock.withLock { () -> (Bool, Bool) in
            queue.append(job)
            let wakes = wakeOneIfNeeded()
            guard !isStarted && !isStopping else { return (wakes, false) }
            isStarted = true
            return (wakes, true)
        }
        // After the unlock, so that the thread woken does not wait for the lock. It cannot have
        // left its wait meanwhile: it was counted idle, and only a wake-up ends the wait.
        if wakes { lock.signal() }
        if startsThreads {
            for _ in 0..<threadCount { startThread() }
        }
    }

    /// Under `lock`: whether to signal an idle thread (after the unlock) for the jobs queued.
    /// Invariant: jobs queued and a thread idle means one is on its way.
    private func wakeOneIfNeeded() -> Bool {
        guard queueHead < queue.count, idleThreads > 0, !isWaking else { return false }
        isWaking = true
        return true
    }

    /// Jobs queued and not yet taken by a thread.
    var queuedCount: Int { lock.withLock { queue.count - queueHead } }

    /// The threads run what is queued, then end. `waitsForThreads`: returns only when they have
    /// ended (Python's `block_on_close`); otherwise they end on their own (`daemon_threads`).
    func stop(waitsForThreads: Bool) {
        let started = lock.withLock { () -> [pthread_t] in
            isStopping = true
            lock.broadcast()
            return threads
        }
        for thread in started {
            if waitsForThreads { pthread_join(thread, nil) } else { pthread_detach(thread) }
        }
        lock.withLock { threads.removeAll() }
    }

    private func startThread() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let pool = Unmanaged<WorkerPool>.fromOpaque(argument!).takeRetainedValue()
            pool.work()
            return nil
        }, box)
        guard result == 0 else {
            // No thread (out of resources): the threads that did start take the jobs.
            Unmanaged<WorkerPool>.fromOpaque(box).release()
            return
        }
        lock.withLock { threads.append(thread) }
    }

    /// A thread's life: take a job, run it, until the pool stops and the queue is empty.
    private func work() {
        nameCurrentThread("http-worker")
        while true {
            let (job, wakes) = lock.withLock { () -> (WorkItem?, Bool) in
                var wasWoken = false
                while queueHead == queue.count && !isStopping {
                    idleThreads += 1
                    lock.waitOnce()
                    idleThreads -= 1
                    // The thread signalled (or one woken spuriously, which then acts for it).
                    isWaking = false
                    wasWoken = true
                }
                guard queueHead < queue.count else { return (nil, false) }
                let job = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueHead = 0
                }
                // Woken for a job and more are waiting: the next thread, as this job may block.
                // (A thread going on from its last job leaves that to the one on its way.)
                return (job, wasWoken && wakeOneIfNeeded())
            }
            if wakes { lock.signal() }
            guard let job else { return }
            job.run()
        }
    }
}

/// What a `WorkerPool` thread runs: a request's handler (`WorkerJob`) or an async handler's
/// `blocking { }` closure (`BlockingWork`).
class WorkItem: @unchecked Sendable {
    /// Runs on a worker thread.
    func run() {}
}

/// An async handler's `blocking { }`: runs `body` on a worker thread and resumes the task with
/// its result (on the task's executor, the reactor).
final class BlockingWork<Result: Sendable>: WorkItem, @unchecked Sendable {
    private let body: @Sendable () throws -> Result
    private let continuation: CheckedContinuation<Result, any Error>

    init(_ body: @escaping @Sendable () throws -> Result, continuation: CheckedContinuation<Result, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    override func run() {
        continuation.resume(with: Swift.Result { try body() })
    }
}
