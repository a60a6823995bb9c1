import Glibc

/// One reactor's side of a `ThreadingHTTPServer`'s worker pool. Used on that reactor's thread
/// only; with `reactors` > 1, each reactor has one, and they share the pool.
///
/// It submits at most `pool.threadCount + queueLength` jobs at a time, so that the pool's queue
/// never holds more than `queueLength` of this reactor's jobs (the server gives each reactor its
/// share of `workerQueueLength`: the pool's queue then holds at most `workerQueueLength` plus
/// `workerThreads` for each reactor past the first). A job past that waits here, in order, until a worker is
/// done with another; its connection is not read meanwhile (each connection has at most one
/// request on a worker or waiting, and stops reading until it has been answered), so the
/// backlog is bounded by the connections, and what clients send next stays in their sockets.
final class HandlerWorkers {
    let pool: WorkerPool
    let queueLength: Int
    /// Runs work on this reactor's thread (its `EventLoop.execute`, or a test's `PostedWork`): a
    /// job posts back to the loop of its own connection.
    let post: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// Jobs submitted to the pool whose `workerFinished` has not run yet.
    private(set) var inFlight = 0
    /// Jobs not yet submitted: the pool's queue is full.
    private var waiting: [WorkerJob] = []
    private var waitingHead = 0

    init(pool: WorkerPool, queueLength: Int, post: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.pool = pool
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
