/// How the bytes of one send reach the server: in one read, or in pieces, each its own read.
///
/// A connection must answer the same whatever the pieces: ``TestClient/sendAtEverySplit(_:endingInput:)-([UInt8],_)``
/// checks every split at once.
public enum Delivery: Sendable, Equatable, CustomStringConvertible {
    /// All the bytes at once.
    case whole
    /// One byte at a time.
    case byteByByte
    /// Cut before each of these indices (out-of-range and repeated indices are ignored): `[3]`
    /// sends bytes `0..<3`, then the rest.
    case split(at: [Int])
    /// Pieces of `size` bytes (the last may be shorter).
    case pieces(of: Int)

    /// The ranges of the pieces of `count` bytes, in order; `alsoCuttingAt` adds a cut.
    func ranges(in count: Int, alsoCuttingAt extra: Int? = nil) -> [Range<Int>] {
        guard count > 0 else { return [] }
        var cuts: [Int]
        switch self {
        case .whole:
            cuts = []
        case .byteByByte:
            cuts = Array(1..<count)
        case .split(let indices):
            cuts = indices
        case .pieces(let size):
            cuts = Array(stride(from: max(1, size), to: count, by: max(1, size)))
        }
        if let extra { cuts.append(extra) }
        let bounds = [0] + Set(cuts.filter { $0 > 0 && $0 < count }).sorted() + [count]
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }

    /// How the bytes are cut, for failure messages.
    public var description: String {
        switch self {
        case .whole: "whole"
        case .byteByByte: "byte by byte"
        case .split(let indices): "split at \(indices.map(String.init).joined(separator: ", "))"
        case .pieces(let size): "in pieces of \(size)"
        }
    }
}
