import Benchmark
import BenchSupport
import Foundation

// labgate's micro-benchmarks (BENCHMARKS.md), run by package-benchmark: `scripts/bench store`,
// `overflow`, `rtu` or `report` (which run `swift package benchmark --target LabGateBenchmarks`
// with a filter). Not tests: they print figures and assert nothing.
//
// Each iteration of store, overflow and rtu is one round of the measurement as BENCHMARKS.md
// describes it (a whole timed window), printed as it ends; the table package-benchmark prints at
// the end holds the same figures per round as custom metrics (p50: the median of the rounds).
// Ratios are kept in thousandths (‰): package-benchmark's metrics are whole numbers.
//
// Options come from the environment, as package-benchmark runs each benchmark in a process of
// its own: `scripts/bench store --readings 300000` sets LABGATE_BENCH_READINGS=300000.
let benchmarks: @Sendable () -> Void = {
    storeBenchmark()
    overflowBenchmark()
    rtuBenchmark()
    reportBenchmarks()
}

/// One option of a benchmark, from LABGATE_BENCH_<NAME> (`--batch-size` is BATCH_SIZE); `_` is
/// allowed in numbers, as in 1_000_000.
func option<Value: LosslessStringConvertible>(_ name: String, default value: Value) -> Value {
    let key = "LABGATE_BENCH_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    guard let text = ProcessInfo.processInfo.environment[key] else { return value }
    guard let parsed = Value(text.replacingOccurrences(of: "_", with: "")) else { fail("--\(name): not a valid value: \(text)") }
    return parsed
}

func option(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["LABGATE_BENCH_" + name.uppercased().replacingOccurrences(of: "-", with: "_")]
}

/// A figure of a round, as a package-benchmark metric (larger is better unless said otherwise).
func figure(_ name: String, smallerIsBetter: Bool = false) -> BenchmarkMetric {
    .custom(name, polarity: smallerIsBetter ? .prefersSmaller : .prefersLarger, useScalingFactor: false)
}

/// A benchmark whose iterations are the rounds of a measurement: no warm-up, as many iterations
/// as rounds, however long they take; figures shown whole, not rounded to thousands.
func perRound(_ count: Int, metrics: [BenchmarkMetric]) -> Benchmark.Configuration {
    .init(
        metrics: metrics, units: Dictionary(uniqueKeysWithValues: metrics.map { ($0, .count) }), warmupIterations: 0,
        maxDuration: .seconds(24 * 3600), maxIterations: count)
}
