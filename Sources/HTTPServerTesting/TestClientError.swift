/// Why a ``TestClient`` call failed.
///
/// Compare `kind` with the static kinds; the set of kinds may grow.
public struct TestClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, by name.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The name of the kind, e.g. `"noResponse"`.
        public let name: String
        /// A kind named `name`.
        public init(_ name: String) { self.name = name }
        /// The name of the kind.
        public var description: String { name }

        /// The call needs the in-memory transport (virtual time, byte-exact read windows, the
        /// server's side of the connection) and the client runs over a real socket.
        public static let unsupportedInLoopback = Kind("unsupportedInLoopback")
        /// A call that returns one response found none: the server is still waiting for input,
        /// closed without answering, or (over loopback) did not answer in time.
        public static let noResponse = Kind("noResponse")
        /// The client reset the connection earlier; nothing more can be sent.
        public static let connectionReset = Kind("connectionReset")
        /// A loopback socket call failed (`socket`, `connect`, an unexpected `send` error).
        public static let socketFailed = Kind("socketFailed")
        /// Over loopback, the server did not take the bytes in time.
        public static let timedOut = Kind("timedOut")
    }

    /// What went wrong.
    public var kind: Kind
    /// The details, for the failure message.
    public var message: String

    /// An error of `kind`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The kind and the details, for failure messages.
    public var description: String { "\(kind): \(message)" }
}
