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
    /// Runs work on this reactor's thread (its `EventLoop`, or a test's `PostedWork`): a job posts
    /// back to the loop of its own connection.
    let executor: any ConnectionExecutor
    /// Jobs submitted to the pool whose `workerFinished` has not run yet.
    private(set) var inFlight = 0
    /// Jobs not yet submitted: the pool's queue is full.
    private var waiting: [WorkerJob] = []
    private var waitingHead = 0
    /// Jobs done with, for the next requests: a job (its condition lock, its buffers, its
    /// ready-made lines) is made once, not per request (callgrind, `hello --threads 4`: 4 mallocs
    /// per request less).
    private var spareJobs: [WorkerJob] = []

    init(pool: WorkerPool, queueLength: Int, executor: any ConnectionExecutor) {
        self.pool = pool
        self.queueLength = max(0, queueLength)
        self.executor = executor
    }

    /// A job for `handler`'s request on `connection`; `buffers` (the reactor's) lends it a chunk
    /// for the output if it has none left.
    func makeJob(connection: HTTPConnection, handler: BaseHTTPRequestHandler, endsAfterCurrentRequest: Bool,
                 buffers: BufferPool) -> WorkerJob {
        let job = spareJobs.popLast() ?? WorkerJob(executor: executor)
        job.start(connection: connection, handler: handler, endsAfterCurrentRequest: endsAfterCurrentRequest)
        buffers.lendChunk(to: job.buffers)
        return job
    }

    /// Takes `job` back once its `workerFinished` has run.
    func recycle(_ job: WorkerJob) {
        job.recycle()
        if spareJobs.count < pool.threadCount + queueLength { spareJobs.append(job) }
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
