import CHTTPServerReactor

/// A failed system call: the call's name and its errno.
///
/// `description` reads like `perror`: `"bind: Address already in use"`. Resolver failures
/// (`getaddrinfo`) carry their `gai_strerror` text in `detail`, because their codes are not errnos.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The system call that failed, e.g. `"bind"`.
    public var call: String
    /// The errno (or, for `getaddrinfo`, the `EAI_*` code).
    public var errno: Int32
    /// Text that replaces `strerror(errno)` in `description`, for calls whose codes are not errnos.
    public var detail: String?

    /// The failure of `call` with this errno; `description` takes its text from `strerror`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
        self.detail = nil
    }

    /// An error whose text is not `strerror(errno)` (e.g. `gai_strerror`).
    public init(call: String, errno: Int32, detail: String) {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    /// `"bind: Address already in use"`.
    public var description: String {
        "\(call): \(detail ?? SystemError.message(for: errno))"
    }

    /// strerror_r text for an errno (thread-safe, unlike strerror).
    public static func message(for errno: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            let base = buffer.baseAddress!
            if creactor_strerror(errno, base, 256) != 0 {
                return "Unknown error \(errno)"
            }
            return String(cString: base)
        }
    }
}

/// What a nonblocking I/O call did.
public enum IOResult: Equatable, Sendable {
    /// The call would have blocked (EAGAIN): nothing was transferred.
    case wouldBlock
    /// This many bytes were transferred (may be fewer than asked: a short write).
    case processed(Int)
}

/// The single syscall wrapper: EINTR is retried here, so no caller loops on it.
/// Returns the call's non-negative result, or throws the errno (EAGAIN included; I/O callers
/// use `ioCall` to turn that into `.wouldBlock`).
@inline(__always)
func systemCall<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = creactor_errno()
        if error == EINTR { continue }
        throw SystemError(call: name, errno: error)
    }
}

/// Like `systemCall`, but EAGAIN/EWOULDBLOCK is `.wouldBlock` rather than an error.
@inline(__always)
func ioCall(_ name: String, _ body: () -> Int) throws(SystemError) -> IOResult {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let error = creactor_errno()
        if error == EINTR { continue }
        if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call: name, errno: error)
    }
}
