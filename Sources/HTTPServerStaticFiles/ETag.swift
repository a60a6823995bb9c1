import HTTPServerCore

/// An entity tag (RFC 9110 §8.8.3) for a file, and the comparisons `If-None-Match` and `If-Range` use.
///
/// A file's tag is `"<mtime seconds hex>.<mtime nanoseconds hex>-<size hex>"`. The inode is left out
/// so that copies of a tree behind a load balancer agree. The tag is strong only when the file was
/// last modified more than a second ago: a file being rewritten within the same clock tick could
/// otherwise keep its tag while its bytes change (Apache's rule), and a strong tag is what lets a
/// client stitch ranges together.
public struct ETag: Equatable, Hashable, Sendable {
    /// The opaque tag, quotes included.
    public var opaqueTag: String
    /// A weak tag (`W/"..."`): it matches for `If-None-Match`, never for `If-Range` (RFC 9110 §8.8.3.2).
    public var isWeak: Bool

    /// A tag from its opaque part (quotes included) and its strength.
    public init(opaqueTag: String, isWeak: Bool) {
        self.opaqueTag = opaqueTag
        self.isWeak = isWeak
    }

    /// The tag of a file with this size and modification time, seen at `now` (seconds since the epoch).
    public init(size: Int, modifiedSeconds: Int64, modifiedNanoseconds: Int, now: Int64) {
        opaqueTag = "\"" + String(modifiedSeconds, radix: 16) + "." + String(modifiedNanoseconds, radix: 16)
            + "-" + String(size, radix: 16) + "\""
        isWeak = now - modifiedSeconds < 2
    }

    /// The header value: `"…"` or `W/"…"`.
    public var headerValue: String { isWeak ? "W/" + opaqueTag : opaqueTag }

    /// RFC 9110 §8.8.3.2 weak comparison: the opaque tags are equal.
    public func weaklyMatches(_ other: ETag) -> Bool { opaqueTag == other.opaqueTag }

    /// Strong comparison: both strong and equal.
    public func stronglyMatches(_ other: ETag) -> Bool { !isWeak && !other.isWeak && opaqueTag == other.opaqueTag }

    /// The tags of an `If-None-Match`/`If-Match` value; `[]` with `isWildcard` for `*`; nil if malformed.
    public static func parseList(_ value: String) -> (tags: [ETag], isWildcard: Bool)? {
        let bytes = Array(value.utf8)
        var i = 0
        func skipSeparators() { while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C) { i += 1 } }
        skipSeparators()
        if i < bytes.count && bytes[i] == UInt8(ascii: "*") {
            i += 1
            skipSeparators()
            return i == bytes.count ? ([], true) : nil
        }
        var tags: [ETag] = []
        while i < bytes.count {
            var weak = false
            if i + 1 < bytes.count && bytes[i] == UInt8(ascii: "W") && bytes[i + 1] == UInt8(ascii: "/") {
                weak = true
                i += 2
            }
            guard i < bytes.count && bytes[i] == UInt8(ascii: "\"") else { return nil }
            let start = i
            i += 1
            // etagc = %x21 / %x23-7E / obs-text
            while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
                guard bytes[i] == 0x21 || bytes[i] >= 0x23 && bytes[i] != 0x7F else { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            i += 1
            tags.append(ETag(opaqueTag: String(decoding: bytes[start..<i], as: UTF8.self), isWeak: weak))
            let before = i
            skipSeparators()
            guard i == bytes.count || i > before else { return nil }
        }
        return (tags, false)
    }

    /// RFC 9110 §13.1.2: `If-None-Match` is false (the precondition fails, 304 for GET/HEAD) when the
    /// value is `*` or lists a tag weakly matching `current`. A malformed value never matches.
    public static func ifNoneMatchFails(_ value: String, current: ETag) -> Bool {
        guard let (tags, wildcard) = parseList(value) else { return false }
        return wildcard || tags.contains { $0.weaklyMatches(current) }
    }
}
