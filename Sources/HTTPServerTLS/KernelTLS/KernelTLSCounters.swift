/// How many connections of a context went to kernel TLS, and what their files cost.
public struct KernelTLSCounters: Equatable, Sendable {
    /// Connections whose output the kernel took over.
    public var connections = 0
    /// Connections that were candidates and stayed in user space.
    public var fallbacks = 0
    /// `sendFile` calls passed to the socket's `sendfile` under kernel TLS.
    public var sendFileCalls = 0
    /// Bytes those calls sent.
    public var sendFileBytes = 0

    /// All zero.
    public init() {}
}
