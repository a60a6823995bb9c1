// What `bench` counts during its measured window, and how it reports it.
import Foundation  // String(format:) in Histogram's percentile table; off the load loop
import Histogram

/// Counters and the latency histogram of one load run.
public struct LoadStats: Sendable {
    public var requests = 0
    public var informational = 0
    public var bytesRead = 0
    public var connects = 0
    /// Errors by kind: connect, read, write, parse, status, length, timeout, closed.
    public var errors: [String: Int] = [:]
    /// Latency in microseconds, 1 µs to 100 s, three significant digits.
    public var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000,
                                           numberOfSignificantValueDigits: .three)

    public init() {
        for kind in LoadStats.errorKinds { errors[kind] = 0 }
    }

    public static let errorKinds = ["connect", "read", "write", "parse", "status", "length", "timeout", "closed"]

    public var errorCount: Int { errors.values.reduce(0, +) }

    @inline(__always)
    public mutating func recordLatency(nanoseconds: Int64) {
        let us = UInt64(max(1, nanoseconds / 1000))
        _ = latency.record(min(us, 100_000_000))
    }

    public mutating func count(error kind: String) {
        errors[kind, default: 0] += 1
    }

    public func percentile(_ p: Double) -> UInt64 {
        latency.totalCount == 0 ? 0 : latency.valueAtPercentile(p)
    }

    /// One JSON object on one line: what the runner reads.
    public func json(durationSeconds: Double, connections: Int, pipeline: Int) -> String {
        let rps = durationSeconds > 0 ? Double(requests) / durationSeconds : 0
        var errs: [String] = []
        for kind in LoadStats.errorKinds { errs.append("\"\(kind)\":\(errors[kind] ?? 0)") }
        let lat = "\"p50\":\(percentile(50)),\"p90\":\(percentile(90)),\"p99\":\(percentile(99)),"
            + "\"p99.9\":\(percentile(99.9)),\"max\":\(latency.totalCount == 0 ? 0 : latency.max),"
            + "\"mean\":\(latency.totalCount == 0 ? 0 : Int(latency.mean))"
        return "{\"requests\":\(requests),\"duration_s\":\(durationSeconds),\"rps\":\(rps),"
            + "\"connections\":\(connections),\"pipeline\":\(pipeline),\"connects\":\(connects),"
            + "\"bytes_read\":\(bytesRead),\"informational\":\(informational),"
            + "\"errors\":{\(errs.joined(separator: ","))},\"latency_us\":{\(lat)}}"
    }

    /// A wrk-like summary for people.
    public func text(durationSeconds: Double, connections: Int, pipeline: Int) -> String {
        let rps = durationSeconds > 0 ? Double(requests) / durationSeconds : 0
        func ms(_ us: UInt64) -> String {
            let v = Double(us) / 1000
            return v < 10 ? String(Int((v * 1000).rounded())) + " µs" : String(Int(v.rounded())) + " ms"
        }
        var lines: [String] = []
        lines.append("  \(connections) connections, pipeline \(pipeline), \(formatSeconds(durationSeconds))")
        lines.append("  \(requests) requests, \(Int(rps.rounded())) req/s, \(bytesRead / 1_000_000) MB read, "
            + "\(connects) connects")
        lines.append("  latency p50 \(ms(percentile(50)))  p90 \(ms(percentile(90)))  p99 \(ms(percentile(99)))  "
            + "p99.9 \(ms(percentile(99.9)))  max \(ms(latency.totalCount == 0 ? 0 : latency.max))")
        let errs = LoadStats.errorKinds.compactMap { k in (errors[k] ?? 0) > 0 ? "\(k) \(errors[k]!)" : nil }
        lines.append("  errors: " + (errs.isEmpty ? "none" : errs.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    /// The latency distribution as wrk2 `--latency` prints it: the usual percentiles, then the
    /// HdrHistogram percentile spectrum (value in milliseconds, percentile, count up to it,
    /// 1/(1-percentile)), five ticks per halving distance, ending with mean, deviation and maximum.
    public func percentileTable() -> String {
        var out = "  Latency Distribution (HdrHistogram - Recorded Latency)\n"
        for p in [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0] {
            let value = latency.totalCount == 0 ? 0 : latency.valueAtPercentile(p)
            out += String(format: "%7.3f%%  %8.3fms\n", p, Double(value) / 1000)
        }
        out += "\n  Detailed Percentile spectrum:\n"
        latency.outputPercentileDistribution(to: &out, outputValueUnitScalingRatio: 1000,
                                             percentileTicksPerHalfDistance: 5)
        return out
    }

    func formatSeconds(_ s: Double) -> String {
        let c = Int((s * 100).rounded())
        return "\(c / 100).\(c % 100 < 10 ? "0" : "")\(c % 100) s"
    }
}
