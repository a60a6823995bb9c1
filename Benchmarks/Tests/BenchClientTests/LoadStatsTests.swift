import Testing
@testable import BenchClient

@Suite struct LoadStatsTests {
    /// 1,000 latencies of 1..1000 µs: the table's percentiles are those values, in milliseconds,
    /// and the spectrum ends at the maximum with the whole count, as wrk2's does.
    @Test func percentileTableReportsTheRecordedDistribution() {
        var stats = LoadStats()
        for us in 1...1000 { stats.recordLatency(nanoseconds: Int64(us) * 1000) }
        let table = stats.percentileTable()
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.first == "  Latency Distribution (HdrHistogram - Recorded Latency)")
        #expect(lines.contains(" 50.000%     0.500ms"))
        #expect(lines.contains(" 99.000%     0.990ms"))
        #expect(lines.contains("100.000%     1.000ms"))
        #expect(lines.contains("  Detailed Percentile spectrum:"))
        // The last spectrum row: the maximum, percentile 1.0, every value counted.
        let lastRow = lines.last { $0.contains("1.000000000000") }
        #expect(lastRow?.split(separator: " ").map(String.init) == ["1.000", "1.000000000000", "1000"])
        #expect(lines.contains { $0.hasPrefix("#[Max     =        1.000, Total count    =         1000]") })
    }

    @Test func anEmptyRunPrintsZeroes() {
        let table = LoadStats().percentileTable()
        #expect(table.contains(" 50.000%     0.000ms"))
    }
}
