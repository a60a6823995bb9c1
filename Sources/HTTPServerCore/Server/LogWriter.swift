import Glibc
import Logging

/// A thread of its own that writes log output, so that the reactor never blocks on it: standard
/// error may be a pipe nobody reads or a slow terminal, and a `Logger`'s backend may block. The
/// loop thread only appends to a bounded queue; past the bound, entries are dropped (and counted)
/// rather than letting the queue, or the loop, wait.
final class LogWriter: @unchecked Sendable {
    enum Entry {
        /// Bytes for a descriptor (standard error).
        case bytes([UInt8], fd: Int32)
        /// A record for a `Logger`.
        case record(Logger, Logger.Level, Logger.Message, Logger.Metadata?)
    }

    /// Most bytes (of `.bytes` entries, a record counts 256) waiting to be written.
    let capacity: Int
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var queue: [Entry] = []
    private var queuedBytes = 0
    private var isWriting = false
    private var isStopping = false
    private var isStarted = false
    /// Entries dropped because the queue was full.
    private(set) var droppedCount = 0

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Queues `entry`; never waits. False when it was dropped (the queue is full).
    @discardableResult
    func enqueue(_ entry: Entry) -> Bool {
        let size: Int
        switch entry {
        case .bytes(let bytes, _): size = bytes.count
        case .record: size = 256
        }
        pthread_mutex_lock(&mutex)
        if queuedBytes + size > capacity && !queue.isEmpty {
            droppedCount += 1
            pthread_mutex_unlock(&mutex)
            return false
        }
        queue.append(entry)
        queuedBytes += size
        let mustStart = !isStarted
        isStarted = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
        if mustStart { start() }
        return true
    }

    /// Waits until everything queued has been written, or `milliseconds` have passed.
    func waitUntilWritten(milliseconds: Int) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += milliseconds / 1000
        deadline.tv_nsec += (milliseconds % 1000) * 1_000_000
        if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_sec += 1; deadline.tv_nsec -= 1_000_000_000 }
        pthread_mutex_lock(&mutex)
        while (!queue.isEmpty || isWriting) && isStarted {
            if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(&mutex)
    }

    /// Lets the thread finish what is queued and end.
    func stop() {
        pthread_mutex_lock(&mutex)
        isStopping = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func start() {
        var thread = pthread_t()
        let me = Unmanaged.passRetained(self).toOpaque()  // released when the thread ends
        let result = pthread_create(&thread, nil, { argument in
            let writer = Unmanaged<LogWriter>.fromOpaque(argument!).takeRetainedValue()
            writer.run()
            return nil
        }, me)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<LogWriter>.fromOpaque(me).release()
            // No thread: write on the caller's thread rather than lose the log.
            pthread_mutex_lock(&mutex)
            let entries = queue
            queue = []
            queuedBytes = 0
            isStarted = false
            pthread_mutex_unlock(&mutex)
            for entry in entries { Self.write(entry) }
        }
    }

    private func run() {
        nameCurrentThread("http-log")
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !isStopping { pthread_cond_wait(&condition, &mutex) }
            if queue.isEmpty && isStopping {
                isStarted = false
                pthread_cond_broadcast(&condition)
                pthread_mutex_unlock(&mutex)
                return
            }
            let entries = queue
            queue = []
            queuedBytes = 0
            isWriting = true
            pthread_mutex_unlock(&mutex)
            for entry in entries { Self.write(entry) }
            pthread_mutex_lock(&mutex)
            isWriting = false
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)
        }
    }

    private static func write(_ entry: Entry) {
        switch entry {
        case .bytes(let bytes, let fd):
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
                }
            }
        case .record(let logger, let level, let message, let metadata):
            logger.log(level: level, message, metadata: metadata)
        }
    }
}
