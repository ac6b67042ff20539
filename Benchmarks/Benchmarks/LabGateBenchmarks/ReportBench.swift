import Benchmark
import BenchSupport
import Foundation
import LabGate
import LabGateReport

// Lot report generation time: a store holding one lot that spent 6 weeks in an incubator with 4
// channels read every 10 s (1,451,520 readings, written through the real ReadingWriter with lot
// tags and seals), one CO2 excursion and one 1 h gap; then `LotReport.gather` + HTML and + JSON,
// each timed (3 iterations; BENCHMARKS.md gives the best, p0), with and without the integrity
// check (the audit verifier over the whole store).
//
//   scripts/bench report [--weeks 6] [--keep FILE]
//
// package-benchmark runs each of the four in a process of its own: the first makes the store, the
// others open it (in the folder `scripts/bench` makes and removes, or at --keep, where it stays).

func reportBenchmarks() {
    let report = ReportRun(weeks: option("weeks", default: 6.0), keep: option("keep"))
    let variants: [(name: String, verify: Bool, render: @Sendable (LotReport) -> Int)] = [
        ("report html", false, { $0.html().utf8.count }),
        ("report json", false, { $0.json().count }),
        ("report html with integrity check", true, { $0.html().utf8.count }),
        ("report json with integrity check", true, { $0.json().count }),
    ]
    for variant in variants {
        let configuration = Benchmark.Configuration(
            metrics: [.wallClock, .cpuTotal], warmupIterations: 0, maxDuration: .seconds(3600), maxIterations: 3)
        Benchmark(variant.name, configuration: configuration) { _ in
            let (config, path) = await report.store()
            let made = try await LotReport.gather(
                lot: ReportRun.lot, store: ReadingStore(readingExisting: path), config: config, verify: variant.verify)
            let size = variant.render(made)
            // Said once per benchmark (its first iteration), as the figures' context.
            if await report.firstTime(variant.name) {
                let check = variant.verify ? (made.integrity.ok ? ", integrity OK" : ", integrity FAILED") : ""
                print("\(variant.name): \(made.readingCount) readings, output \(size / 1024) KB\(check)")
            }
        } setup: {
            try await report.prepare()
        }
    }
}

/// The report benchmark's store: made once, then opened read-only for every report.
actor ReportRun {
    let weeks: Double
    let path: String
    static let lot = "MSC-AT-BENCH"
    private var config: Config?
    private var said: Set<String> = []

    init(weeks: Double, keep: String?) {
        guard weeks > 0 else { fail("--weeks: a number above 0") }
        self.weeks = weeks
        let folder = option("folder") ?? NSTemporaryDirectory()
        path = keep ?? folder + "/labgate-bench-report-\(weeks)w.sqlite"
    }

    func firstTime(_ name: String) -> Bool { said.insert(name).inserted }

    func store() -> (Config, String) {
        guard let config else { fail("the store was not prepared") }
        return (config, path)
    }

    /// Makes the store unless a complete one is there (marked by a file beside it once written).
    func prepare() async throws {
        let channels: [(String, String, Double)] = [("temperature", "°C", 37), ("co2", "%", 5), ("humidity", "%", 95), ("o2", "%", 20)]
        let profile = Profile(name: "bench", fields: channels.enumerated().map { index, channel in
            Field(channel: channel.0, table: .input, address: index * 2, type: .float32, unit: channel.1)
        })
        let spec = Spec(name: "msc-culture", limits: [
            "temperature": ChannelLimits(low: 36, high: 38, delay: .seconds(600), criticalHigh: 39, source: "spec msc-culture"),
            "co2": ChannelLimits(low: 4.5, high: 5.5, delay: .seconds(900), source: "spec msc-culture"),
        ])
        let config = Config(
            file: "bench", site: "bench", store: path, alerts: NSTemporaryDirectory(),
            buses: [Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: 502))],
            devices: [Device(id: "INC-01", kind: .incubator, bus: "lan", unit: 1, profile: "bench", every: .seconds(10))],
            profiles: ["bench": profile], specs: ["msc-culture": spec])
        self.config = config
        let complete = path + ".complete"
        if FileManager.default.fileExists(atPath: complete) { return }
        for stale in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: stale) }

        let store = try ReadingStore(path: path)
        let book = LotBook(store: store, registry: LotRegistry(), config: config)
        let now = Date()
        let span = weeks * 7 * 86400
        let t0 = (now.timeIntervalSince1970 - span - 3600).rounded(.down)
        let lot = Self.lot
        let started = try await book.start(lot: lot, device: "INC-01", spec: "msc-culture", note: nil, user: "bench")
        let ended = try await book.end(lot: lot, note: nil, user: "bench")
        _ = try await book.correct(lot: lot, event: started.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: t0), reason: "bench: placed 6 weeks ago", user: "bench")
        _ = try await book.correct(lot: lot, event: ended.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: t0 + span), reason: "bench: taken out", user: "bench")

        let writeStart = monotonicSeconds()
        let writer = ReadingWriter(store: store, batchSize: 50_000, capacity: 10_000_000, user: "bench")
        let polls = Int(span / 10)
        var batch: [Reading] = []
        batch.reserveCapacity(50_000)
        for poll in 0..<polls {
            let seconds = Double(poll) * 10
            if seconds >= 20 * 86400 && seconds < 20 * 86400 + 3600 { continue }  // a 1 h gap on day 20
            let time = Date(timeIntervalSince1970: t0 + seconds)
            for (channel, _, base) in channels {
                var value = base + 0.1 * sin(seconds / 900 + Double(channel.utf8.count))
                if channel == "co2", seconds >= 10 * 86400, seconds < 10 * 86400 + 1200 { value = 3.1 }  // 20 min excursion
                batch.append(Reading(device: "INC-01", channel: channel, time: time, value: value, quality: .good, lots: [lot]))
            }
            if batch.count >= 50_000 {
                try await writer.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await writer.append(batch)
        try await writer.flush()
        let written = await writer.written
        _ = FileManager.default.createFile(atPath: complete, contents: nil)
        print("store: \(written) readings written in \(fixed(monotonicSeconds() - writeStart, 1)) s (\(path))")
        print("machine: \(machineSummary())")
    }
}
