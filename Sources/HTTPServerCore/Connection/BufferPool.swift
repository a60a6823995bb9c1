import HTTPServerHTTP1

/// Byte buffers shared by all connections of one loop. A connection takes a buffer when it has
/// something to hold (a partial request, queued output) and gives it back as soon as it is empty,
/// so that an idle keep-alive connection holds no buffer at all, and a busy one allocates nothing
/// in steady state.
final class BufferPool {
    /// What the pool holds, in one struct so that one annotation covers every list.
    private struct Shelves {
        var buffers: [[UInt8]] = []
        var chunks: [OutputChunk] = []
        var exchanges: [Exchange] = []
    }
    // callgrind: −689 instructions per keep-alive request
    @exclusivity(unchecked) private var shelves = Shelves()
    private let bufferCapacity: Int
    private let maxRetainedCapacity: Int
    private let maxBuffers: Int

    init(bufferCapacity: Int = 4096, maxRetainedCapacity: Int = 256 * 1024, maxBuffers: Int = 1024) {
        self.bufferCapacity = bufferCapacity
        self.maxRetainedCapacity = maxRetainedCapacity
        self.maxBuffers = maxBuffers
        shelves.buffers.reserveCapacity(64)
    }

    /// An empty buffer with some capacity.
    func take() -> [UInt8] {
        if let buffer = shelves.buffers.popLast() { return buffer }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(bufferCapacity)
        return buffer
    }

    /// Per-request state for a connection that has a request in progress.
    func takeExchange(limits: ParserLimits) -> Exchange {
        if let exchange = shelves.exchanges.popLast() { return exchange }
        return Exchange(limits: limits)
    }

    /// Takes back an exchange whose connection is idle or closed.
    func give(_ exchange: Exchange) {
        exchange.reset(pool: self)
        if shelves.exchanges.count < maxBuffers { shelves.exchanges.append(exchange) }
    }

    /// An empty output chunk.
    func takeChunk() -> OutputChunk {
        if let chunk = shelves.chunks.popLast() { return chunk }
        return OutputChunk()
    }

    /// Returns a chunk (emptied) to the pool, or frees it when the pool is full.
    func give(_ chunk: OutputChunk) {
        chunk.start = 0
        chunk.end = 0
        if shelves.chunks.count < maxBuffers { shelves.chunks.append(chunk) }
    }

    /// Moves a spare chunk to `other` (a worker's job) when `other` has none: a worker's output is
    /// freed into the reactor's pool once written, and comes back this way.
    func lendChunk(to other: BufferPool) {
        guard other.shelves.chunks.isEmpty, let chunk = shelves.chunks.popLast() else { return }
        other.shelves.chunks.append(chunk)
    }

    /// Returns `buffer`'s storage to the pool (or frees it when too large or too small) and leaves `buffer` empty
    /// without capacity.
    @inline(__always)  // so that the caller's access to `buffer` spans no call
    func give(_ buffer: inout [UInt8]) {
        var taken: [UInt8] = []
        swap(&taken, &buffer)
        // A buffer smaller than the pool's (a deferred response's saved head) is not kept: it
        // would grow, reallocating, in whoever took it next.
        guard taken.capacity >= bufferCapacity, taken.capacity <= maxRetainedCapacity,
              shelves.buffers.count < maxBuffers else { return }
        taken.removeAll(keepingCapacity: true)
        shelves.buffers.append(taken)
    }
}
