import Foundation
import Testing
@testable import LabGate
@testable import LabGateReport

/// A lot inside INC-01 for 100 s; readings before, during and after, some tagged with another
/// lot, one timeout, none for 10 s (a gap), and 10 s of readings written late (as after a full
/// disk), in batches of 7.
private func lotStore(_ folder: TemporaryFolder) async throws -> (ReadingStore, Config) {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let config = incubatorConfig(folder: folder.path)
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    let started = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    let ended = try await book.end(lot: "LOT-1", note: nil, user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: started.id, device: nil, spec: nil, at: t0, reason: "test", user: "alice")
    _ = try await book.correct(
        lot: "LOT-1", event: ended.id, device: nil, spec: nil, at: t0.addingTimeInterval(100), reason: "test", user: "alice")
    let writer = ReadingWriter(store: store, batchSize: 7)
    func poll(_ second: Int) -> [Reading] {
        let time = t0.addingTimeInterval(Double(second))
        let lots: [String] = (0..<100).contains(second) ? (second % 9 == 0 ? ["LOT-1", "LOT-2"] : ["LOT-1"]) : ["LOT-X"]
        if second == 33 {
            return [Reading(device: "INC-01", channel: "co2", time: time, value: nil, quality: .timeout, detail: "no reply", lots: lots)]
        }
        return [
            Reading(device: "INC-01", channel: "co2", time: time, value: 5 + Double(second % 7) / 10, quality: .good, lots: lots),
            Reading(device: "INC-01", channel: "temperature", time: time, value: 37 - Double(second % 5) / 10, quality: .good, lots: lots),
        ]
    }
    let late = Array(50..<60)
    let gap = 70..<80
    for second in -10..<110 where !late.contains(second) && !gap.contains(second) { try await writer.append(poll(second)) }
    for second in late { try await writer.append(poll(second)) }
    try await writer.flush()
    return (store, config)
}

@Suite("lot report gathering")
struct LotReportGatherTests {
    @Test("a report with its integrity check is the report without it, the lot's readings re-hashed")
    func withAndWithoutCheck() async throws {
        let folder = try TemporaryFolder()
        let (store, config) = try await lotStore(folder)
        let now = Date(timeIntervalSince1970: 1_700_000_500)
        let verified = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: now, verify: true)
        let queried = try await LotReport.gather(lot: "LOT-1", store: store, config: config, now: now, verify: false)
        #expect(verified.integrity.ok && verified.integrity.problems == [])
        // The lot's two series over its 100 s (199 readings) and the rest of the batches at its
        // edges, not the device's readings long before or after.
        #expect((199..<219).contains(verified.integrity.readingsChecked), "\(verified.integrity)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(verified.placements) == encoder.encode(queried.placements))
        let co2 = try #require(verified.placements.first?.channels.first { $0.channel == "co2" })
        #expect(co2.statistics.count == 90, "the lot's 90 co2 readings, the timeout and the late ones included")
        #expect(co2.completeness.gaps.count == 1 && co2.completeness.expected == 100)
        #expect(!co2.excursions.isEmpty, "5.6 % is above the spec's 5.5 %")

        // The HTML shows what QA signs: the gap and the excursions on the chart, MKT for the
        // temperature, the lot's audit entries, the integrity statement.
        let html = verified.html()
        #expect(html.contains("<title>gap "))
        #expect(html.contains("<title>excursion "))
        let temperature = try #require(verified.placements.first?.channels.first { $0.channel == "temperature" })
        let mkt = try #require(temperature.statistics.meanKineticTemperature)
        #expect(html.contains("\(Float(mkt)) °C"), "at the float32 temperature's resolution")
        // The lot's 4 actions, and its device's 2 fields as recorded when it was placed.
        #expect(html.contains("Audit entries about the lot (6)") && html.contains("alice corrected action #") && html.contains("the field of INC-01 co2 was recorded"))
        #expect(html.contains("Integrity OK"))
    }
}
