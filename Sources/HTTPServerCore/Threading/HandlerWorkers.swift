import Glibc

/// The reactor's side of a `ThreadingHTTPServer`'s worker pool. Used on the reactor thread only.
///
/// It submits at most `pool.threadCount + queueLength` jobs at a time, so that the pool's queue
/// never holds more than `queueLength`. A job past that waits here, in order, until a worker is
/// done with another; its connection is not read meanwhile (each connection has at most one
/// request on a worker or waiting, and stops reading until it has been answered), so the
/// backlog is bounded by the connections, and what clients send next stays in their sockets.
final class HandlerWorkers {
    let pool: WorkerPool
    let queueLength: Int
    /// Runs work on the reactor thread (`EventLoop.execute`, or a test's `PostedWork`).
    let post: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// Jobs submitted to the pool whose `workerFinished` has not run yet.
    private(set) var inFlight = 0
    /// Jobs not yet submitted: the pool's queue is full.
    private var waiting: [WorkerJob] = []
    private var waitingHead = 0

    init(threadCount: Int, queueLength: Int, post: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.pool = WorkerPool(threadCount: threadCount)
        self.queueLength = max(0, queueLength)
        self.post = post
    }

    /// Jobs waiting for room in the pool's queue.
    var waitingCount: Int { waiting.count - waitingHead }

    func submit(_ job: WorkerJob) {
        if inFlight < pool.threadCount + queueLength {
            inFlight += 1
            pool.submit(job)
        } else {
            waiting.append(job)
        }
    }

    /// A job's `workerFinished` is running: the next waiting job (if any) takes its place.
    func jobFinished() {
        inFlight -= 1
        guard waitingHead < waiting.count else { return }
        let next = waiting[waitingHead]
        waitingHead += 1
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        submit(next)
    }
}
