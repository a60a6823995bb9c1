extension TestClient {
    /// Sends `bytes` on fresh connections to this client's server: whole, split in two at every
    /// index, and one byte at a time; checks that every delivery gives the same responses, the same
    /// interim responses still pending, and the same open or closed connection. Returns the
    /// responses to the whole delivery, or throws ``SplitMismatch`` for the first delivery that
    /// differs.
    ///
    /// ```swift
    /// let responses = try client.sendAtEverySplit("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
    /// #expect(responses.map(\.status) == [200])
    /// ```
    ///
    /// This client's own connection is not used. Each delivery gets a connection (and a handler)
    /// of its own, so `bytes.count + 1` handlers see the request, and ``log`` gets their lines.
    /// With `endingInput`, each connection then half-closes (for requests cut short on purpose).
    /// Over loopback the splits are best effort (the kernel may join the pieces) and responses are
    /// compared without their `Date`.
    @discardableResult
    public func sendAtEverySplit(_ bytes: [UInt8], endingInput: Bool = false) throws -> [TestResponse] {
        let reference = try outcome(of: bytes, delivery: .whole, endingInput: endingInput, closes: nil)
        let deliveries = (1..<max(1, bytes.count)).map { Delivery.split(at: [$0]) } + [.byteByByte]
        for delivery in deliveries {
            let other: SplitOutcome
            do {
                other = try outcome(of: bytes, delivery: delivery, endingInput: endingInput, closes: reference.isClosed)
            } catch {
                throw SplitMismatch(bytes: bytes, delivery: delivery, expected: reference.summary,
                                    actual: "the client threw \(error)")
            }
            let same = mode == .inMemory ? other == reference : other.matches(reference)
            if !same {
                throw SplitMismatch(bytes: bytes, delivery: delivery, expected: reference.summary, actual: other.summary)
            }
        }
        return reference.responses
    }

    /// Sends the UTF-8 bytes of `text` at every split; see ``sendAtEverySplit(_:endingInput:)-([UInt8],_)``.
    @discardableResult
    public func sendAtEverySplit(_ text: String, endingInput: Bool = false) throws -> [TestResponse] {
        try sendAtEverySplit(Array(text.utf8), endingInput: endingInput)
    }

    /// What one delivery gives. Over loopback, `closes` (the whole delivery's fate) says how long
    /// to wait for a close: until `responseTimeout` when one is due, not at all when none is (a
    /// close that comes later goes unnoticed), `quietPeriod` when unknown.
    private func outcome(of bytes: [UInt8], delivery: Delivery, endingInput: Bool, closes: Bool?) throws -> SplitOutcome {
        let client = try openConnection()
        defer { client.discard() }
        var responses = try client.sendRaw(bytes, delivery: delivery)
        if endingInput { responses += try client.sendEndOfInput() }
        let wait = closes.map { $0 ? responseTimeout : .zero } ?? quietPeriod
        return SplitOutcome(responses: responses, pendingInterim: client.pendingInterim,
                            isClosed: client.isClosedByServer(waitingUpTo: wait))
    }

    /// Ends a connection made for one check, so the server does not keep it.
    private func discard() {
        if case .fake(let transport) = peer, !transport.isClosed { transport.reset() }
    }
}

/// What one delivery of a split check produced.
struct SplitOutcome: Equatable {
    var responses: [TestResponse]
    var pendingInterim: [TestResponse]
    var isClosed: Bool

    /// Equal but for `Date` values.
    func matches(_ other: SplitOutcome) -> Bool {
        isClosed == other.isClosed && responses.count == other.responses.count
            && pendingInterim.count == other.pendingInterim.count
            && zip(responses, other.responses).allSatisfy { $0.matches($1) }
            && zip(pendingInterim, other.pendingInterim).allSatisfy { $0.matches($1) }
    }

    var summary: String {
        var parts = responses.map { "\($0.status) \($0.reason) (\($0.headers.count) headers, \($0.body.count) body bytes)" }
        if parts.isEmpty { parts = ["no response"] }
        if !pendingInterim.isEmpty { parts.append("pending \(pendingInterim.map { String($0.status) })") }
        parts.append(isClosed ? "closed" : "open")
        return parts.joined(separator: "; ")
    }
}

/// A delivery of ``TestClient/sendAtEverySplit(_:endingInput:)-([UInt8],_)`` that got a different
/// answer than the whole request did.
public struct SplitMismatch: Error, CustomStringConvertible {
    /// The bytes sent.
    public var bytes: [UInt8]
    /// The first delivery that differed.
    public var delivery: Delivery
    /// What the whole delivery produced.
    public var expected: String
    /// What this delivery produced.
    public var actual: String

    /// The delivery, where it cut, and both outcomes.
    public var description: String {
        var cut = ""
        if case .split(let indices) = delivery, let index = indices.first {
            cut = ": " + String(decoding: bytes[..<index], as: UTF8.self).debugDescription + " | "
                + String(decoding: bytes[index...], as: UTF8.self).debugDescription
        }
        return "\(delivery) of \(bytes.count) bytes\(cut)\n  whole: \(expected)\n  split: \(actual)"
    }
}
