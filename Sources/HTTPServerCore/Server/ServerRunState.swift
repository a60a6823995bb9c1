import Glibc

/// Whether `serveForever()` is running, and a way to wait until it is not (for `shutdown()`).
final class ServerRunState: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var isServing = false

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
        if isServing { return false }
        isServing = true
        return true
    }

    func end() {
        pthread_mutex_lock(&mutex)
        isServing = false
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func waitUntilStopped() {
        pthread_mutex_lock(&mutex)
        while isServing { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }
}
