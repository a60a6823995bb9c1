import Glibc

/// Whether `serveForever()` is running, and a way to wait until it is not (for `shutdown()`).
final class ServerRunState: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var serving = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Marks the server as serving; false when it already was.
    func begin() -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if serving { return false }
        serving = true
        return true
    }

    func end() {
        pthread_mutex_lock(&mutex)
        serving = false
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// True between `begin()` and `end()`.
    var isServing: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return serving
    }

    func waitUntilStopped() {
        pthread_mutex_lock(&mutex)
        while serving { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }
}
