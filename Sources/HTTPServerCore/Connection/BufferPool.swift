import HTTPServerHTTP1

/// Byte buffers shared by all connections of one loop. A connection takes a buffer when it has
/// something to hold (a partial request, queued output) and gives it back as soon as it is empty,
/// so that an idle keep-alive connection holds no buffer at all, and a busy one allocates nothing
/// in steady state.
final class BufferPool {
    private var free: [[UInt8]] = []
    private let bufferCapacity: Int
    private let maxRetainedCapacity: Int
    private let maxBuffers: Int

    init(bufferCapacity: Int = 4096, maxRetainedCapacity: Int = 256 * 1024, maxBuffers: Int = 1024) {
        self.bufferCapacity = bufferCapacity
        self.maxRetainedCapacity = maxRetainedCapacity
        self.maxBuffers = maxBuffers
        free.reserveCapacity(64)
    }

    /// An empty buffer with some capacity.
    func take() -> [UInt8] {
        if let buffer = free.popLast() { return buffer }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(bufferCapacity)
        return buffer
    }

    private var freeChunks: [OutputChunk] = []
    // callgrind: −333 instructions per keep-alive request
    @exclusivity(unchecked) private var freeExchanges: [Exchange] = []

    /// Per-request state for a connection that has a request in progress.
    func takeExchange(limits: ParserLimits) -> Exchange {
        if let exchange = freeExchanges.popLast() { return exchange }
        return Exchange(limits: limits)
    }

    /// Takes back an exchange whose connection is idle or closed.
    func give(_ exchange: Exchange) {
        exchange.reset(pool: self)
        if freeExchanges.count < maxBuffers { freeExchanges.append(exchange) }
    }

    /// An empty output chunk.
    func takeChunk() -> OutputChunk {
        if let chunk = freeChunks.popLast() { return chunk }
        return OutputChunk()
    }

    /// Returns a chunk (emptied) to the pool, or frees it when the pool is full.
    func give(_ chunk: OutputChunk) {
        chunk.start = 0
        chunk.end = 0
        if freeChunks.count < maxBuffers { freeChunks.append(chunk) }
    }

    /// Returns `buffer`'s storage to the pool (or frees it when too large) and leaves `buffer` empty
    /// without capacity.
    func give(_ buffer: inout [UInt8]) {
        var taken: [UInt8] = []
        swap(&taken, &buffer)
        guard taken.capacity > 0, taken.capacity <= maxRetainedCapacity, free.count < maxBuffers else { return }
        taken.removeAll(keepingCapacity: true)
        free.append(taken)
    }
}
