import Foundation
import GRDB
import Testing
import TestSupport
@testable import LabGate
@testable import LabGateReport

/// The daemon's config load, as recorded at `time`: what `Daemon` writes with `config_loaded`.
private func recordLoad(_ config: Config, in store: ReadingStore, at time: Date) async throws {
    try await store.pool.write { db in
        _ = try DefinitionRecord.record(config, user: "labgate", reason: "config \(config.file) loaded", db: db, at: time)
    }
}

/// LOT-1 inside INC-01 over [t0, t0 + 100 s), one poll a second: co2 a raw int16 × 0.01
/// (502 → 5.0200000000000005 as a double), temperature a float32 (37.01226 → 37.01226043701172).
/// `co2Raw` gives the raw co2 register of second s, decoded with the config in force.
private func definedStore(
    _ folder: TemporaryFolder, t0: Date, reload: (at: Int, config: Config)? = nil, co2Raw: (Int) -> Int16 = { _ in 502 }
) async throws -> (path: String, config: Config) {
    let path = folder.file("store.sqlite")
    let store = try ReadingStore(path: path)
    let config = incubatorConfig(folder: folder.path)
    try await recordLoad(config, in: store, at: t0.addingTimeInterval(-60))
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let started = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    let ended = try await book.end(lot: "LOT-1", note: nil, user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: started.id, device: nil, spec: nil, at: t0, reason: "test", user: "alice")
    _ = try await book.correct(
        lot: "LOT-1", event: ended.id, device: nil, spec: nil, at: t0.addingTimeInterval(100), reason: "test", user: "alice")
    if let reload { try await recordLoad(reload.config, in: store, at: t0.addingTimeInterval(Double(reload.at))) }
    let writer = ReadingWriter(store: store, batchSize: 50)
    for second in 0..<100 {
        let inForce = reload.map { second >= $0.at ? $0.config : config } ?? config
        let profile = inForce.profile(of: inForce.devices[0])
        let co2 = FieldDecoder.decode(profile.field("co2")!, words: [UInt16(bitPattern: co2Raw(second))])
        let bits = Float(37.01226).bitPattern
        let temperature = FieldDecoder.decode(
            profile.field("temperature")!, words: [UInt16(bits >> 16), UInt16(bits & 0xffff)])
        let time = t0.addingTimeInterval(Double(second))
        try await writer.append([
            Reading(device: "INC-01", channel: "co2", time: time, value: co2.value, quality: co2.quality, lots: ["LOT-1"]),
            Reading(device: "INC-01", channel: "temperature", time: time, value: temperature.value, quality: temperature.quality, lots: ["LOT-1"]),
        ])
    }
    try await writer.flush()
    return (path, config)
}

@Suite("the record describes itself")
struct RecordedDefinitionsTests {
    @Test("units, fields and the spec recorded with the audit trail are shown by CSV, JSON and HTML from a store opened without config, values at their resolution")
    func withoutConfig() async throws {
        let folder = try TemporaryFolder()
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let (path, _) = try await definedStore(folder, t0: t0)
        #expect(502 * 0.01 == 5.0200000000000005 && Double(Float(37.01226)) == 37.01226043701172, "what a double shows")
        let store = try ReadingStore(readingExisting: path)

        var csv = Data()
        try LotReportCSV.write(lot: "LOT-1", store: store, config: nil, now: t0.addingTimeInterval(500)) { csv += $0 }
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 201)
        #expect(lines[1] == "2023-11-14T22:13:20.000Z,INC-01,co2,5.02,%,good,", "\(lines[1])")
        #expect(lines[2] == "2023-11-14T22:13:20.000Z,INC-01,temperature,37.01226,°C,good,", "\(lines[2])")

        let report = try await LotReport.gather(lot: "LOT-1", store: store, config: nil, now: t0.addingTimeInterval(500))
        let co2 = try #require(report.placements.first?.channels.first { $0.channel == "co2" })
        #expect(co2.unit == "%" && co2.fieldSource == .recorded && co2.bandSource == .recorded)
        #expect(co2.field?.table == "input" && co2.field?.address == 2 && co2.field?.type == "int16")
        #expect(co2.field?.order == "AB" && co2.field?.scale == 0.01 && co2.field?.offset == 0)
        #expect(co2.band == LotReport.SpecBand(low: 4.5, high: 5.5, criticalLow: 2.0))
        #expect(co2.every == 1 && !co2.everyInferred, "the poll period recorded with the field")
        #expect(co2.resolution == .decimals(2))
        let json = String(decoding: report.json(), as: UTF8.self)
        #expect(json.contains("\"max\" : 5.02") && !json.contains("5.0200000000000005"))
        #expect(json.contains("\"max\" : 37.01226") && !json.contains("37.01226043701172"))
        #expect(json.contains("\"scale\" : 0.01") && json.contains("\"resolution\" : \"0.01\""))
        let html = report.html()
        #expect(html.contains("Field: inc input 2 int16 AB × 0.01, %, resolution 0.01"))
        #expect(html.contains("Field: inc input 0 float32 ABCD × 1, °C, resolution float32"))
        #expect(html.contains("<td>5.02 %</td>") && html.contains("<td>37.01226 °C</td>"))
        #expect(html.contains("Spec band: ≥ 4.50, ≤ 5.50, critical ≥ 2.00 (as recorded in the store)"))
        #expect(!html.contains("changed during this placement"))
    }

    @Test("a reload that changed the co2 scale and the spec during the placement is shown, and each reading is judged by the spec in force")
    func changedDuringPlacement() async throws {
        let folder = try TemporaryFolder()
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        var reloaded = incubatorConfig(folder: folder.path)
        reloaded.profiles["inc"]!.fields[1].scale = 0.1  // raw 56 → 5.6 %
        reloaded.specs["msc-culture"]!.limits["co2"]!.high!.value = 6.0
        // 5.6 % all along: above 5.5 until the reload at 50 s, inside 6.0 after it.
        let (path, config) = try await definedStore(folder, t0: t0, reload: (50, reloaded)) { $0 < 50 ? 560 : 56 }
        let store = try ReadingStore(readingExisting: path)
        // Today's config says neither: the report ignores it for what was recorded.
        var today = config
        today.specs["msc-culture"]!.limits["co2"]!.high!.value = 9.0
        let report = try await LotReport.gather(lot: "LOT-1", store: store, config: today, now: t0.addingTimeInterval(500))
        let co2 = try #require(report.placements.first?.channels.first { $0.channel == "co2" })
        #expect(co2.field?.scale == 0.01 && co2.band?.high == 5.5)
        #expect(co2.fieldChanges.map(\.field.scale) == [0.1])
        #expect(co2.fieldChanges.first?.time == t0.addingTimeInterval(50))
        #expect(co2.bandChanges.map { $0.band?.high } == [6.0])
        #expect(co2.excursions.count == 1 && co2.excursions.first?.end == t0.addingTimeInterval(49), "out of spec until the new spec")
        #expect(co2.statistics.timeInSpec == 50)
        #expect(co2.resolution == .decimals(2), "the finer of 0.01 and 0.1")
        let html = report.html()
        #expect(html.contains("changed during this placement"))
        #expect(html.contains("field: inc input 2 int16 AB × 0.1, %, resolution 0.1"))
        #expect(html.contains("spec band: ≥ 4.50, ≤ 6.00, critical ≥ 2.00"))
        let temperature = try #require(report.placements.first?.channels.first { $0.channel == "temperature" })
        #expect(temperature.fieldChanges.isEmpty && temperature.bandChanges.isEmpty, "unchanged by the reload")

        var csv = Data()
        try LotReportCSV.write(lot: "LOT-1", store: store, config: nil, now: t0.addingTimeInterval(500)) { csv += $0 }
        let text = String(decoding: csv, as: UTF8.self)
        #expect(text.contains("22:13:20.000Z,INC-01,co2,5.60,%") && text.contains("22:14:10.000Z,INC-01,co2,5.6,%"))
    }

    @Test("definitions are recorded when they differ from the last record: a load, a lot placed, an unchanged reload")
    func recordedOnChange() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let config = incubatorConfig(folder: folder.path)
        // A lot placed before any load records its device's fields and its spec.
        let book = LotBook(store: store, registry: LotRegistry(), config: config)
        _ = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        let entries = try AuditTrail.list(in: store)
        #expect(entries.map(\.action) == ["lot_start", "series_described", "series_described", "spec_recorded"])
        #expect(entries[1].object == "series INC-01 temperature" && entries[1].reason == "lot LOT-1 start in INC-01")
        #expect(entries[3].new?.contains("\"high\":{\"deadband\":0,\"delay\":10,\"hold\":0,\"value\":5.5}") == true, "\(entries[3].new ?? "")")
        let written = try await store.pool.write { db in try DefinitionRecord.record(config, user: "labgate", reason: "load", db: db) }
        #expect(written == 0, "nothing changed")
        var changed = config
        changed.profiles["inc"]!.fields[1].unit = "% CO2"
        let reloaded = changed
        let again = try await store.pool.write { db in try DefinitionRecord.record(reloaded, user: "labgate", reason: "load", db: db) }
        #expect(again == 1)
        let last = try #require(try AuditTrail.list(in: store).last)
        #expect(last.object == "series INC-01 co2" && last.old?.contains("\"unit\":\"%\"") == true && last.new?.contains("% CO2") == true)
        #expect(try await AuditVerifier.verify(store).ok)
    }

    @Test("values are written at the resolution of the field that decoded them")
    func resolution() {
        let co2 = ValueResolution(type: .int16, scale: 0.01, offset: 0)
        #expect(co2 == .decimals(2) && co2.text(502 * 0.01) == "5.02" && co2.rounded(502 * 0.01).description == "5.02")
        #expect(co2.text(-0.5) == "-0.50" && co2.text(0.004) == "0.00")
        #expect(ValueResolution(type: .uint16, scale: 1, offset: 0).text(502) == "502")
        #expect(ValueResolution(type: .int16, scale: 0.1, offset: -273.15) == .decimals(2))
        #expect(ValueResolution(type: .int32, scale: 2.5e-05, offset: 0) == .decimals(6))
        #expect(ValueResolution(type: .uint16, scale: 10, offset: 0) == .decimals(0))
        let float = ValueResolution(type: .float32, scale: 1, offset: 0)
        #expect(float.text(Double(Float(37.01226))) == "37.01226" && float.rounded(Double(Float(37.01226))).description == "37.01226")
        #expect(float.text(Double(Float(-196.5))) == "-196.5")
        for resolution in [co2, float, .decimals(0), .decimals(6)] {
            let data = try? JSONEncoder().encode([resolution])
            #expect(data.flatMap { try? JSONDecoder().decode([ValueResolution].self, from: $0) } == [resolution])
        }
    }
}
