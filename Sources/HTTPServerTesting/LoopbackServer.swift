import Glibc
import HTTPServerKit
import HTTPServerReactor

/// A real `HTTPServer` on 127.0.0.1 and a free port, running `serveForever()` on a thread of its
/// own, for ``TestClient`` in loopback mode. Stopped (gracefully) when released.
final class LoopbackServer {
    let server: HTTPServer
    private var thread: pthread_t?

    init(configuration: ServerConfiguration, log: LogCapture,
         handlerFactory: @escaping () -> BaseHTTPRequestHandler) throws {
        server = try HTTPServer(("127.0.0.1", 0), configuration: configuration,
                                logDestination: .custom { log.append($0) }, handlerFactory: handlerFactory)
        let box = Unmanaged.passRetained(ServeBox(server: server)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<ServeBox>.fromOpaque(argument!).takeRetainedValue()
            try? box.server.serveForever()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<ServeBox>.fromOpaque(box).release()
            server.serverClose()
            throw SystemError(call: "pthread_create", errno: result)
        }
        self.thread = thread
        // Wait until the loop runs, so that stopping it later cannot race its start.
        let started = Latch()
        server.loop?.execute { started.open() }
        started.wait()
    }

    /// Stops `serveForever()` (requests in flight are answered), joins its thread, and closes.
    func stop() {
        guard let thread else { return }
        self.thread = nil
        server.shutdown()
        pthread_join(thread, nil)
        server.serverClose()
    }

    deinit {
        stop()
    }
}

/// What the server thread needs, passed through `pthread_create`'s opaque argument.
private final class ServeBox {
    let server: HTTPServer
    init(server: HTTPServer) { self.server = server }
}

/// A one-shot gate: `wait()` returns once `open()` has been called, from any thread.
private final class Latch: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var isOpen = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func open() {
        pthread_mutex_lock(&mutex)
        isOpen = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while !isOpen { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }
}
