/// The request's header fields, in order, duplicates kept, names matched case-insensitively.
///
/// Equivalent to the `email.message.Message` that Python's handler keeps in `self.headers`:
/// `headers["Content-Length"]` is the first value or nil (Python's `headers.get(...)`), and
/// `values(for:)` is `headers.get_all(...)`. Names and values are decoded as Latin-1, as Python does.
public struct HTTPHeaders: Sendable, Sequence, CustomStringConvertible {
    /// Every field as received, in order, duplicates kept (Python's `headers.items()`).
    public private(set) var fields: [(name: String, value: String)]

    /// Headers with `fields`, in order.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// The first value of the field `name` (case-insensitive), or nil.
    public subscript(_ name: String) -> String? {
        for field in fields where Self.equalsIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// Python's `headers.get(name, default)`.
    public func get(_ name: String, default value: String? = nil) -> String? {
        self[name] ?? value
    }

    /// Every value of the field `name`, in order (Python's `get_all`).
    public func values(for name: String) -> [String] {
        fields.filter { Self.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Whether a field `name` is present, case-insensitive (Python's `name in headers`).
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// How many fields there are, duplicates counted (Python's `len(headers)`).
    public var count: Int { fields.count }

    /// Appends a field (Python's `headers[name] = value` on a `Message`, which appends too).
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Iterates over `fields`, in order: `for (name, value) in headers`. (Python iterates over the names.)
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// The header section as Python's `str(self.headers)` prints it.
    public var description: String {
        fields.map { "\($0.name): \($0.value)\n" }.joined() + "\n"
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                if x != y && lower(x) != lower(y) { return false }
            default: return false
            }
        }
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }
}
