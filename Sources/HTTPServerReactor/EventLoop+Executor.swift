/// The loop as a Swift concurrency task executor: a task created with the loop as its executor
/// preference (`Task(executorPreference: loop)`) runs its nonisolated code on the loop thread, and
/// resumes there after every `await`.
extension EventLoop: TaskExecutor {
    /// Runs `job` on the loop thread: at once when called there inside `runningJobsInline`,
    /// otherwise on the next wake-up (through `execute`, whose eventfd is written once per batch).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if inLoopThread && runsJobsInline {
            job.runSynchronously(on: asUnownedTaskExecutor())
            return
        }
        execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Runs `body` on the loop thread with tasks enqueued on this loop meanwhile run at once, on
    /// this thread, up to their first suspension: a task started here costs no wake-up, and one
    /// that never suspends finishes before `body` returns. Loop thread only.
    public func runningJobsInline<R>(_ body: () throws -> R) rethrows -> R {
        let was = runsJobsInline
        runsJobsInline = true
        defer { runsJobsInline = was }
        return try body()
    }
}
