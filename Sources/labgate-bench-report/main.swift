import ArgumentParser
import Foundation
import LabGate
import LabGateReport

// Lot report generation time: a store holding one lot that spent 6 weeks in an incubator with 4
// channels read every 10 s (1,451,520 readings, written through the real ReadingWriter with lot
// tags and seals), one CO2 excursion and one 1 h gap; then `LotReport.gather` + HTML and + JSON,
// each timed, with and without the integrity check (the audit verifier over the whole store).
//
//   labgate-bench-report [--weeks 6] [--keep FILE]

struct Arguments: ParsableArguments {
    @Option(help: "Weeks the lot spent in the incubator.") var weeks = 6.0
    @Option(help: "Keep the store at this path (default: a temporary folder, removed).") var keep: String?

    func validate() throws {
        guard weeks > 0 else { throw ValidationError("--weeks: a number above 0") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("labgate-bench-report: \(message)\n".utf8))
    exit(2)
}

func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let arguments = Arguments.parseOrExit()
let weeks = arguments.weeks
let folder = NSTemporaryDirectory() + "labgate-bench-report-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
let path = arguments.keep ?? folder + "/bench.sqlite"

let channels: [(String, String, Double)] = [("temperature", "°C", 37), ("co2", "%", 5), ("humidity", "%", 95), ("o2", "%", 20)]
let profile = Profile(name: "bench", fields: channels.enumerated().map { index, channel in
    Field(channel: channel.0, table: .input, address: index * 2, type: .float32, unit: channel.1)
})
let spec = Spec(name: "msc-culture", limits: [
    "temperature": ChannelLimits(low: 36, high: 38, delay: .seconds(600), criticalHigh: 39, source: "spec msc-culture"),
    "co2": ChannelLimits(low: 4.5, high: 5.5, delay: .seconds(900), source: "spec msc-culture"),
])
let config = Config(
    file: "bench", site: "bench", store: path, alerts: folder,
    buses: [Bus(id: "lan", transport: .tcp(host: "127.0.0.1", port: 502))],
    devices: [Device(id: "INC-01", kind: .incubator, bus: "lan", unit: 1, profile: "bench", every: .seconds(10))],
    profiles: ["bench": profile], specs: ["msc-culture": spec])

let lot = "MSC-AT-BENCH"
let store = try ReadingStore(path: path)
let book = LotBook(store: store, registry: LotRegistry(), config: config)
let now = Date()
let span = weeks * 7 * 86400
let t0 = (now.timeIntervalSince1970 - span - 3600).rounded(.down)
let started = try await book.start(lot: lot, device: "INC-01", spec: "msc-culture", note: nil, user: "bench")
let ended = try await book.end(lot: lot, note: nil, user: "bench")
_ = try await book.correct(lot: lot, event: started.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: t0), reason: "bench: placed 6 weeks ago", user: "bench")
_ = try await book.correct(lot: lot, event: ended.id, device: nil, spec: nil, at: Date(timeIntervalSince1970: t0 + span), reason: "bench: taken out", user: "bench")

let writeStart = seconds()
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
print("store: \(written) readings written in \(String(format: "%.1f", seconds() - writeStart)) s (\(path))")

let readonly = try ReadingStore(readingExisting: path)
func time(_ label: String, verify: Bool, render: (LotReport) -> Int) async throws {
    var best = Double.infinity
    var size = 0
    var readings = 0
    var ok = false
    for _ in 0..<3 {
        let start = seconds()
        let report = try await LotReport.gather(lot: lot, store: readonly, config: config, verify: verify)
        size = render(report)
        best = min(best, seconds() - start)
        readings = report.readingCount
        ok = report.integrity.ok
    }
    let check = verify ? (ok ? ", integrity OK" : ", integrity FAILED") : ""
    print("\(label): \(String(format: "%.3f", best)) s (best of 3), \(readings) readings, output \(size / 1024) KB\(check)")
}
try await time("html, no integrity check", verify: false) { $0.html().utf8.count }
try await time("json, no integrity check", verify: false) { $0.json().count }
try await time("html with integrity check", verify: true) { $0.html().utf8.count }
try await time("json with integrity check", verify: true) { $0.json().count }
let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
print("machine: \(machine), \(ProcessInfo.processInfo.activeProcessorCount) cores")
