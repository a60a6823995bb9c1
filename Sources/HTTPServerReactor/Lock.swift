import Glibc

/// A pthread mutex. Used where threads hand work to a loop (`EventLoop.execute`, a response
/// stream's queue): ThreadSanitizer understands pthread mutexes, so the suite's TSan run checks
/// the code they guard (it cannot see the ordering of `Synchronization.Mutex`'s futex, and reports
/// every access under it as a race).
package final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
