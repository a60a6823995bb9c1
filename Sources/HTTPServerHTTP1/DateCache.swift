/// Formats the `Date` header value at most once a second.
public struct DateCache: Sendable {
    private var second: Int64 = .min
    private var formatted: [UInt8] = []

    /// An empty cache; the first `bytes(epochSeconds:)` call formats.
    public init() {
        formatted.reserveCapacity(32)
    }

    /// The 29 bytes of IMF-fixdate for `epochSeconds`, re-formatted only when the second changes.
    public mutating func bytes(epochSeconds: Int64) -> ArraySlice<UInt8> {
        if epochSeconds != second {
            second = epochSeconds
            formatted.removeAll(keepingCapacity: true)
            HTTPDate.format(epochSeconds: epochSeconds, into: &formatted)
        }
        return formatted[...]
    }
}
