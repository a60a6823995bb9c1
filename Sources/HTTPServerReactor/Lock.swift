import Glibc

/// A pthread mutex guarding a value. Used instead of `Synchronization.Mutex` where other threads
/// hand work over: ThreadSanitizer sees the ordering a pthread mutex makes, while `Mutex`'s
/// contended path (futex, in the runtime library) is invisible to it, so TSan reported every
/// hand-over through `EventLoop.execute` as a race once workers and N reactors contended.
package final class Lock<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
