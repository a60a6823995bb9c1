import CoreMetrics
import HTTPServerHTTP1

/// The server's swift-metrics, for one loop. Created only when a metrics backend is bootstrapped
/// (`MetricsSystem.factory` is not the no-op one, checked once when the server is made), so that a
/// server without one does no metric work at all: every hook is `context.metrics?.…`.
///
/// Counts are kept in plain integers on the loop thread and handed to the backend once a second
/// (`publish()`): a request costs a few additions and one duration record, not a call into the
/// backend (and its atomics or locks) per counter.
final class ServerMetrics {
    private let factory: any MetricsFactory
    /// The open connections of every reactor (a server with `reactors` > 1 has a `ServerMetrics`
    /// per reactor; the gauges are their sum).
    var stateTotals: ConnectionStateTotals?

    // Aggregated on the loop thread since the last publish.
    var bytesIn = 0
    var bytesOut = 0
    var accepted = 0
    private var refused: [String: Int] = [:]
    private var requestsByClass = [Int](repeating: 0, count: 6)  // 1xx … 5xx, then anything else
    private var timeouts: [String: Int] = [:]
    private var rejected: [String: Int] = [:]

    private let bytesInCounter: Counter
    private let bytesOutCounter: Counter
    private let acceptedCounter: Counter
    private let requestCounters: [Counter]
    private let duration: CoreMetrics.Timer
    private var refusedCounters: [String: Counter] = [:]
    private var timeoutCounters: [String: Counter] = [:]
    private var rejectedCounters: [String: Counter] = [:]
    private var connectionGauges: [String: Gauge] = [:]

    /// Metrics for `factory`; nil when it is swift-metrics' no-op factory (no backend).
    static func make(factory: any MetricsFactory) -> ServerMetrics? {
        if factory is NOOPMetricsHandler { return nil }
        return ServerMetrics(factory: factory)
    }

    private init(factory: any MetricsFactory) {
        self.factory = factory
        bytesInCounter = Counter(label: "http_server_bytes_received_total", dimensions: [], factory: factory)
        bytesOutCounter = Counter(label: "http_server_response_body_bytes_total", dimensions: [], factory: factory)
        acceptedCounter = Counter(label: "http_server_connections_accepted_total", dimensions: [], factory: factory)
        requestCounters = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"].map {
            Counter(label: "http_server_requests_total", dimensions: [("status_class", $0)], factory: factory)
        }
        duration = CoreMetrics.Timer(label: "http_server_request_duration_seconds", dimensions: [],
                                     preferredDisplayUnit: .seconds, factory: factory)
    }

    // MARK: Hooks (loop thread)

    /// A connection was closed at accept without being served (`reason`: `shutdown`,
    /// `proxy_header`).
    func connectionRefused(_ reason: String) {
        refused[reason, default: 0] += 1
    }

    /// A response is complete: its status, body size, and time since its head arrived.
    func responseCompleted(status: Int?, bodyBytes: Int, nanoseconds: Int64) {
        let index = status.map { (100...599).contains($0) ? $0 / 100 - 1 : 5 } ?? 5
        requestsByClass[index] += 1
        bytesOut += bodyBytes
        duration.recordNanoseconds(nanoseconds)
    }

    /// A request the parser refused (the kind names the rule it broke).
    func requestRejected(_ error: ParseError) {
        rejected[error.kind.name, default: 0] += 1
    }

    /// A connection's `kind` timeout fired (`idle`, `head`, `body`, `send`, `linger`).
    func timedOut(_ kind: String) {
        timeouts[kind, default: 0] += 1
    }

    // MARK: Publishing

    /// Hands the counts since the last call to the backend, and sets the open-connection gauges
    /// from `connectionStates` (state name → count).
    func publish(connectionStates: [String: Int]) {
        if bytesIn > 0 { bytesInCounter.increment(by: bytesIn); bytesIn = 0 }
        if bytesOut > 0 { bytesOutCounter.increment(by: bytesOut); bytesOut = 0 }
        if accepted > 0 { acceptedCounter.increment(by: accepted); accepted = 0 }
        for index in requestsByClass.indices where requestsByClass[index] > 0 {
            requestCounters[index].increment(by: requestsByClass[index])
            requestsByClass[index] = 0
        }
        flush(&refused, into: &refusedCounters, label: "http_server_connections_refused_total", dimension: "reason")
        flush(&timeouts, into: &timeoutCounters, label: "http_server_timeouts_total", dimension: "kind")
        flush(&rejected, into: &rejectedCounters, label: "http_server_requests_rejected_total", dimension: "error")
        // Every state seen before is set (to 0 when none is in it now), so a gauge never sticks.
        for state in connectionStates.keys where connectionGauges[state] == nil {
            connectionGauges[state] = Gauge(label: "http_server_connections", dimensions: [("state", state)],
                                            factory: factory)
        }
        for (state, gauge) in connectionGauges {
            gauge.record(connectionStates[state] ?? 0)
        }
    }

    private func flush(_ counts: inout [String: Int], into counters: inout [String: Counter], label: String,
                       dimension: String) {
        guard !counts.isEmpty else { return }
        for (value, count) in counts {
            let counter = counters[value] ?? Counter(label: label, dimensions: [(dimension, value)], factory: factory)
            counters[value] = counter
            counter.increment(by: count)
        }
        counts.removeAll(keepingCapacity: true)
    }
}

/// Each reactor's open connections by state, so that the gauges one reactor sets count them all.
final class ConnectionStateTotals: @unchecked Sendable {
    private let lock = ConditionLock()
    private var perReactor: [[String: Int]]

    init(reactors: Int) {
        perReactor = Array(repeating: [:], count: reactors)
    }

    /// Records `reactor`'s counts and returns the sum over all reactors (a state counted before and
    /// now empty stays in the sum as 0, so its gauge goes to 0).
    func update(reactor: Int, _ states: [String: Int]) -> [String: Int] {
        lock.withLock {
            var mine = perReactor[reactor].mapValues { _ in 0 }
            mine.merge(states) { _, new in new }
            perReactor[reactor] = mine
            var sum: [String: Int] = [:]
            for counts in perReactor { sum.merge(counts, uniquingKeysWith: +) }
            return sum
        }
    }
}
