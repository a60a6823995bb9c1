import Glibc
import Testing
@testable import HTTPServerReactor

/// Echoes every byte it gets straight back, keeping nothing: the steady state of a busy connection.
private final class PingPong: TransportDelegate {
    unowned let loop: EventLoop
    var transport: SocketTransport?
    var rounds = 0
    var limit: Int
    let timer: Timer
    init(loop: EventLoop, limit: Int) {
        self.loop = loop
        self.limit = limit
        self.timer = Timer {}
    }
    func bytesReceived(_ bytes: UnsafeRawBufferPointer) {
        rounds += 1
        // Timer churn too: an idle timeout re-armed on every read.
        loop.arm(timer, at: loop.now.advanced(by: .seconds(30)))
        if rounds >= limit { loop.stop(); return }
        _ = try? transport?.write(bytes)
    }
    func endOfInput() {}
    func transportWritable() {}
    func transportFailed(_ error: SystemError) {}
}

extension ReactorTests {
/// The hot path allocates nothing: a malloc-counting LD_PRELOAD library, built here with the C
/// compiler (skipped when there is none), counts this thread's allocations in a child process.
@Suite struct AllocationTests {
    static let childVariable = "REACTOR_MALLOC_CHILD"
    static let counterSource = """
    #include <errno.h>
    #include <stddef.h>
    extern void *__libc_malloc(size_t);
    extern void *__libc_calloc(size_t, size_t);
    extern void *__libc_realloc(void *, size_t);
    extern void *__libc_memalign(size_t, size_t);
    static __thread unsigned long count;
    unsigned long reactor_thread_malloc_count(void) { return count; }
    void *malloc(size_t n) { count++; return __libc_malloc(n); }
    void *calloc(size_t a, size_t b) { count++; return __libc_calloc(a, b); }
    void *realloc(void *p, size_t n) { count++; return __libc_realloc(p, n); }
    void *memalign(size_t a, size_t n) { count++; return __libc_memalign(a, n); }
    void *aligned_alloc(size_t a, size_t n) { count++; return __libc_memalign(a, n); }
    int posix_memalign(void **out, size_t a, size_t n) {
        count++;
        void *p = __libc_memalign(a, n);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    """

    @Test func echoHotPathAllocatesNothing() throws {
        guard getenv(Self.childVariable) == nil else { return }
        let directory = "/tmp/reactor-malloc-\(getpid())"
        mkdir(directory, 0o700)
        let source = directory + "/counter.c", library = directory + "/counter.so"
        defer { unlink(source); unlink(library); rmdir(directory) }
        let file = fopen(source, "w")
        try #require(file != nil)
        fputs(Self.counterSource, file)
        fclose(file)
        guard system("cc -shared -fPIC -O2 -o \(library) \(source) 2>/dev/null") == 0 else { return }
        // To see the child's output:
        // LD_PRELOAD=<counter.so> REACTOR_MALLOC_CHILD=1 swift test --filter echoAllocationsInTheChild
        #expect(try runTestInChildProcess(filter: "echoAllocationsInTheChild",
                                          environment: ["\(Self.childVariable)=1", "LD_PRELOAD=\(library)"]))
    }

    @Test func echoAllocationsInTheChild() throws {
        guard getenv(Self.childVariable) != nil else { return }
        let symbol = try #require(dlsym(nil, "reactor_thread_malloc_count"))
        let count = unsafeBitCast(symbol, to: (@convention(c) () -> UInt).self)

        let loop = try EventLoop()
        let (server, client, listener) = try connectedPair(loop)
        let serverSide = PingPong(loop: loop, limit: .max)
        serverSide.transport = server
        server.delegate = serverSide
        try server.start()
        let clientSide = PingPong(loop: loop, limit: 100)
        clientSide.transport = client
        client.delegate = clientSide
        try client.start()
        let message: [UInt8] = Array("ping".utf8)

        // Warm-up: whatever is allocated once (table slots, the timer heap's storage) is done here.
        _ = try message.withUnsafeBytes { try client.write($0) }
        try loop.run()
        #expect(clientSide.rounds == 100)

        clientSide.limit = 1100
        let before = count()
        _ = try message.withUnsafeBytes { try client.write($0) }
        try loop.run()  // 1,000 round trips: 2,000 reads, 2,000 writes, 2,000 timer re-arms
        let allocations = count() - before
        #expect(clientSide.rounds == 1100)
        #expect(allocations == 0, "\(allocations) allocations in 1,000 echo round trips")
        server.close(); client.close(); listener.close()
    }
}
}
