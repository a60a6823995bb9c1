/// What one `RequestParser.parse` call found.
///
/// `consumed` bytes are done with; the caller drops them and presents the rest
/// again, with more bytes appended, on the next call (the parser remembers how
/// far it scanned, so nothing is scanned twice).
public enum ParseStep: Equatable, Sendable {
    /// Nothing complete yet.
    case needMore(consumed: Int)
    /// The request head is complete; `parser.head` has its fields as ranges into this call's buffer.
    case head(consumed: Int)
    /// Body bytes (chunk framing removed) at `range` of this call's buffer; consumed through `range.upperBound`.
    case body(Range<Int>)
    /// The message is complete (trailers, if any, in `parser.trailers`, ranges into this call's buffer).
    case end(consumed: Int)
}
