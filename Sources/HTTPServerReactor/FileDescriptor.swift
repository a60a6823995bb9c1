import CHTTPServerReactor

/// An owned descriptor, closed when it goes away.
///
/// Noncopyable so that exactly one owner closes it: `release()` hands the raw number on
/// without closing, `close()` closes early and reports the error.
public struct FileDescriptor: ~Copyable {
    /// The descriptor number.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Gives up ownership without closing.
    public consuming func release() -> Int32 {
        let value = rawValue
        discard self
        return value
    }

    /// Closes now. Not retried on EINTR: on Linux the descriptor is gone whatever close(2) returns.
    public consuming func close() throws(SystemError) {
        let value = rawValue
        discard self
        if CHTTPServerReactor.close(value) != 0 {
            throw SystemError(call: "close", errno: creactor_errno())
        }
    }

    deinit {
        if rawValue >= 0 { _ = CHTTPServerReactor.close(rawValue) }
    }

    /// open(2) read-only, O_CLOEXEC.
    public static func openForReading(_ path: String) throws(SystemError) -> FileDescriptor {
        let fd = try systemCall("open") { creactor_open_readonly(path) }
        return FileDescriptor(rawValue: fd)
    }

    /// fstat(2) size in bytes: the range to hand to `sendFile`.
    public func size() throws(SystemError) -> Int {
        var info = stat()
        _ = try systemCall("fstat") { fstat(rawValue, &info) }
        return Int(info.st_size)
    }
}
