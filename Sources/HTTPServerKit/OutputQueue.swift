import Reactor

/// A file region queued for `sendfile`. A class, so that it can sit in an array beside byte
/// segments while owning its descriptor; the descriptor closes when the region is done or dropped.
final class FileRegion {
    let fd: FileDescriptor
    var range: Range<Int>
    init(fd: consuming FileDescriptor, range: Range<Int>) {
        self.fd = fd
        self.range = range
    }
}

/// The bytes and file regions a connection has yet to write, in order.
///
/// Small writes are copied into one coalescing buffer, so that a head and a small body (and the
/// responses to several pipelined requests) leave in one `write`. Large byte arrays are queued
/// without copying, and files as regions for `sendfile`.
struct OutputQueue {
    private enum Segment {
        case bytes([UInt8], sent: Int)
        case file(FileRegion)
        case empty
    }

    private var segments: [Segment] = []
    private var first = 0
    /// Bytes queued and not yet written (files included).
    private(set) var count = 0

    /// Arrays at least this large are queued as they are instead of being copied.
    static let copyThreshold = 16 * 1024

    var isEmpty: Bool { first == segments.count }

    /// A position to roll back to (for a response head that is abandoned before it is finished).
    struct Mark { var segmentCount: Int; var lastCount: Int; var count: Int }

    func mark() -> Mark {
        var lastCount = 0
        if let last = segments.last, case .bytes(let b, _) = last { lastCount = b.count }
        return Mark(segmentCount: segments.count, lastCount: lastCount, count: count)
    }

    mutating func rollBack(to mark: Mark, pool: BufferPool) {
        // Only bytes were appended since the mark (heads are never interleaved with files).
        while segments.count > mark.segmentCount {
            if case .bytes(var b, _) = segments.removeLast() { pool.give(&b) }
        }
        if segments.count == mark.segmentCount, let lastIndex = segments.indices.last, lastIndex >= first,
           case .bytes(var b, let sent) = segments[lastIndex] {
            segments[lastIndex] = .empty
            if b.count > mark.lastCount { b.removeSubrange(mark.lastCount...) }
            segments[lastIndex] = .bytes(b, sent: sent)
        }
        count = mark.count
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) {
        guard !bytes.isEmpty else { return }
        count += bytes.count
        if let lastIndex = segments.indices.last, lastIndex >= first, case .bytes(var b, let sent) = segments[lastIndex] {
            segments[lastIndex] = .empty  // so that `b` is uniquely referenced and grows in place
            b.append(contentsOf: bytes)
            segments[lastIndex] = .bytes(b, sent: sent)
            return
        }
        var b = pool.take()
        b.append(contentsOf: bytes)
        push(.bytes(b, sent: 0))
    }

    mutating func append(_ bytes: [UInt8], pool: BufferPool) {
        if bytes.count >= Self.copyThreshold {
            count += bytes.count
            push(.bytes(bytes, sent: 0))
        } else {
            bytes.withUnsafeBytes { append($0, pool: pool) }
        }
    }

    mutating func append(file: FileRegion) {
        guard !file.range.isEmpty else { return }
        count += file.range.count
        push(.file(file))
    }

    private mutating func push(_ segment: Segment) {
        if first == segments.count && first > 0 {
            segments.removeAll(keepingCapacity: true)
            first = 0
        }
        segments.append(segment)
    }

    /// Writes as much as the transport takes. Returns true when everything was written.
    mutating func flush(to transport: Transport, pool: BufferPool) throws(SystemError) -> Bool {
        while first < segments.count {
            switch segments[first] {
            case .empty:
                first += 1
            case .bytes(let b, let sent):
                let result: IOResult
                if first + 1 < segments.count, case .bytes(let next, let nextSent) = segments[first + 1] {
                    result = try Self.writev(b, from: sent, next, from: nextSent, to: transport)
                } else {
                    result = try b.withUnsafeBytes { raw in
                        Result { () throws(SystemError) in try transport.write(UnsafeRawBufferPointer(rebasing: raw[sent...])) }
                    }.get()
                }
                guard case .processed(let n) = result else { return false }
                count -= n
                consumeBytes(n, pool: pool)
            case .file(let region):
                let result = try transport.sendFile(region.fd, range: region.range)
                guard case .processed(let n) = result else { return false }
                if n == 0 {
                    // The file shrank under us: the promised length cannot be kept.
                    throw SystemError(call: "sendfile", errno: 5 /* EIO */)
                }
                count -= n
                region.range = (region.range.lowerBound + n)..<region.range.upperBound
                if region.range.isEmpty {
                    segments[first] = .empty
                    first += 1
                }
            }
        }
        segments.removeAll(keepingCapacity: true)
        first = 0
        return true
    }

    private static func writev(_ a: [UInt8], from aSent: Int, _ b: [UInt8], from bSent: Int,
                               to transport: Transport) throws(SystemError) -> IOResult {
        try a.withUnsafeBytes { ra in
            b.withUnsafeBytes { rb in
                var buffers = (UnsafeRawBufferPointer(rebasing: ra[aSent...]), UnsafeRawBufferPointer(rebasing: rb[bSent...]))
                return withUnsafeMutableBytes(of: &buffers) { raw in
                    let typed = raw.bindMemory(to: UnsafeRawBufferPointer.self)
                    return Result { () throws(SystemError) in try transport.write(vectored: UnsafeBufferPointer(typed)) }
                }
            }
        }.get()
    }

    /// Marks `n` written bytes, spread over the leading byte segments, as sent.
    private mutating func consumeBytes(_ n: Int, pool: BufferPool) {
        var left = n
        while left > 0, first < segments.count, case .bytes(var b, let sent) = segments[first] {
            let remaining = b.count - sent
            if left >= remaining {
                left -= remaining
                segments[first] = .empty
                pool.give(&b)
                first += 1
            } else {
                segments[first] = .bytes(b, sent: sent + left)
                left = 0
            }
        }
    }

    /// Drops everything (the connection is going away): buffers go back to the pool, files close.
    mutating func discard(pool: BufferPool) {
        for i in first..<segments.count {
            if case .bytes(var b, _) = segments[i] { segments[i] = .empty; pool.give(&b) }
        }
        segments.removeAll()
        first = 0
        count = 0
    }
}
