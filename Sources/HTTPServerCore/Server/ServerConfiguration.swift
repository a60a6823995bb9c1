import CoreMetrics
import HTTPServerHTTP1

/// Limits and timeouts of an `HTTPServer`'s connections.
///
/// Python's `http.server` has no timeouts and no body limit; a server that holds tens of thousands
/// of connections needs both. The defaults follow nginx where Python has nothing to say
/// (`client_header_timeout`, `client_body_timeout`, `send_timeout` 60 s; `keepalive_timeout` 75 s;
/// `client_max_body_size` 1 MiB), and Python where it has (65536-byte lines, 100 header fields).
public struct ServerConfiguration: Sendable {
    /// Request-line, header and body limits (414, 431, 413).
    public var limits: ParserLimits
    /// Longest wait for a complete request head, from its first byte. Then 408 and close.
    public var headTimeout: Duration = .seconds(60)
    /// Longest silence while a request body is being received. Then 408 and close.
    public var bodyTimeout: Duration = .seconds(60)
    /// Longest idle time between keep-alive requests (and before the first one). Then a quiet close.
    public var idleTimeout: Duration = .seconds(75)
    /// Longest time a client may leave written output unread. Then the connection is dropped.
    public var sendTimeout: Duration = .seconds(60)
    /// How long to keep reading (and discarding) after the last response of a connection, so that a
    /// close does not turn into a reset that destroys the response in flight (nginx's lingering close).
    public var lingerTimeout: Duration = .seconds(2)
    /// Output queued for one connection above which the connection stops reading and parsing further
    /// pipelined requests until the client has taken some of it.
    public var outputHighWatermark: Int = 256 * 1024
    /// `ThreadingHTTPServer`: threads that run handlers. 64: a handler that mostly waits (a
    /// 10 ms query) then serves about 6,400 requests a second; each thread reserves stack address
    /// space, not memory, until it is used.
    public var workerThreads: Int = 64
    /// `ThreadingHTTPServer`: requests that may wait for a free thread; past that, connections
    /// with a request to hand over stop being read until there is room.
    public var workerQueueLength: Int = 1024
    /// `ThreadingHTTPServer`: bytes of a streamed request body (`wantsStreamingBody()`) held for
    /// a handler on a worker that has not read them yet; when they are there, the connection stops
    /// reading until the handler has read half of them.
    public var workerBodyBufferSize: Int = 64 * 1024
    /// Most connections open at once; at the limit the server stops accepting (new clients wait in
    /// the listen backlog) until one closes. nil: limited only by descriptors.
    public var maxConnections: Int? = nil
    /// Most requests served on one connection; the last one is answered with `Connection: close`
    /// (nginx's `keepalive_requests`). nil: no limit, as in Python.
    public var maxRequestsPerConnection: Int? = nil
    /// Connections accepted per wake-up of the listener. 1 (nginx's `multi_accept off`): each
    /// accept4 takes a connection that is there, and a listener with more waiting is reported again
    /// by the next epoll_wait, which also serves the connections already open; larger values take a
    /// burst in fewer wake-ups but end each batch with an accept4 that finds nothing (EAGAIN),
    /// one wasted system call per wake-up when clients arrive one at a time.
    public var acceptsPerWakeup: Int = 1
    /// Event loops (reactors) serving connections, each on a thread of its own: reactor 0 on the
    /// thread that calls `serveForever()`, the others on threads it starts. They accept from one
    /// listening socket, and each serves the connections it accepted until they close; handlers
    /// then run on that many threads at once. 1 (the default) is Python's one serving thread;
    /// set it to the number of cores a busy server may use. A server of in-memory transports
    /// always has one. `maxConnections` is shared out: each reactor holds at most its share.
    public var reactors: Int = 1
    /// How long `shutdown()` lets responses in flight finish before it closes what is left.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// The access log's format: Python's (the default), Common Log Format or Combined.
    public var accessLogFormat: AccessLogFormat = .python
    /// Where the server's metrics go; nil (the default): `MetricsSystem.factory`, looked at once
    /// when the server is made. With swift-metrics' no-op factory (nothing bootstrapped) the server
    /// does no metric work at all.
    public var metricsFactory: (any MetricsFactory)? = nil
    /// The PROXY protocol from trusted proxies; nil (the default): not accepted from anyone.
    public var proxyProtocol: ProxyProtocolConfiguration? = nil

    /// The defaults above (Python's limits, nginx's timeouts).
    public init() {
        var limits = ParserLimits()
        limits.maxBodySize = 1 << 20
        self.limits = limits
    }
}
