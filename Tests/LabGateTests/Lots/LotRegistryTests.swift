import Foundation
import GRDB
import Testing
@testable import LabGate

@Suite("lot registry and store upgrade")
struct LotRegistryTests {
    @Test("placements are intervals: a reading belongs to the lots inside its device at its time")
    func intervals() {
        let t0: Int64 = 1_800_000_000_000
        let registry = LotRegistry(events: [
            LotEvent(id: 1, lot: "A", action: .start, device: "INC-01", spec: "tight", time: t0, user: "alice"),
            LotEvent(id: 2, lot: "B", action: .start, device: "INC-01", spec: "loose", time: t0 + 500, user: "alice"),
            LotEvent(id: 3, lot: "A", action: .move, device: "INC-02", spec: nil, time: t0 + 1000, user: "bob"),
            LotEvent(id: 4, lot: "A", action: .end, device: nil, spec: nil, time: t0 + 2000, user: "bob"),
        ])
        func at(_ device: String, _ offset: Int64) -> [LotSpec] {
            registry.exposure(device: device, at: Date(millisecondsSince1970: t0 + offset))
        }
        #expect(at("INC-01", -1) == [])
        #expect(at("INC-01", 0) == [LotSpec(lot: "A", spec: "tight")])
        #expect(at("INC-01", 999) == [LotSpec(lot: "A", spec: "tight"), LotSpec(lot: "B", spec: "loose")])
        #expect(at("INC-01", 1000) == [LotSpec(lot: "B", spec: "loose")])
        #expect(at("INC-02", 1000) == [LotSpec(lot: "A", spec: "tight")], "a move keeps the spec unless it names one")
        #expect(at("INC-02", 2000) == [])
        let placements = registry.placements(of: "A")
        #expect(placements.map(\.device) == ["INC-01", "INC-02"])
        #expect(placements.map(\.endedBy) == ["bob", "bob"])
        #expect(registry.lots == ["A", "B"])
    }

    @Test("live readings are tagged by the order of lot actions on the monotonic clock: a wall clock stepped back an hour moves no lot")
    func liveFollowsCommitOrder() {
        let t0: Int64 = 1_800_000_000_000
        let origin = ContinuousClock.now
        let registry = LotRegistry(events: [
            LotEvent(id: 1, lot: "A", action: .start, device: "INC-01", spec: "tight", time: t0, user: "alice")
        ])
        // Loaded at start: inside from then on, whatever a poll's wall time says.
        #expect(registry.inside(device: "INC-01", at: origin).map(\.lot) == ["A"])
        #expect(registry.exposure(device: "INC-01", at: Date(millisecondsSince1970: t0 - 3_600_000)).isEmpty, "by wall time it was not")
        // The wall clock is stepped back an hour; B is started and A moved: their events carry earlier times than A's start.
        registry.apply(
            LotEvent(id: 2, lot: "B", action: .start, device: "INC-01", spec: "loose", time: t0 - 3_500_000, user: "bob"),
            at: origin + .seconds(10))
        registry.apply(
            LotEvent(id: 3, lot: "A", action: .move, device: "INC-02", spec: nil, time: t0 - 3_400_000, user: "bob"),
            at: origin + .seconds(20))
        #expect(registry.inside(device: "INC-01", at: origin + .seconds(5)).map(\.lot) == ["A"], "a poll taken before B was placed")
        #expect(registry.inside(device: "INC-01", at: origin + .seconds(15)).map(\.lot) == ["A", "B"])
        #expect(registry.inside(device: "INC-01", at: origin + .seconds(25)) == [LotSpec(lot: "B", spec: "loose")])
        #expect(registry.inside(device: "INC-02", at: origin + .seconds(25)) == [LotSpec(lot: "A", spec: "tight")], "A is where it was moved last")
        #expect(registry.inside(device: "INC-02", at: origin + .seconds(15)).isEmpty)
        #expect(registry.lotsInside.map(\.lot) == ["A", "B"] && registry.lotsInside.map(\.device) == ["INC-02", "INC-01"])
        // A correction of the device of A's move: tagging follows it from its commit on.
        registry.apply(
            LotEvent(id: 4, lot: "A", action: .correct, device: "INC-03", spec: nil, time: t0, user: "qa", corrects: 3),
            at: origin + .seconds(30))
        #expect(registry.inside(device: "INC-03", at: origin + .seconds(31)).map(\.lot) == ["A"])
        #expect(registry.inside(device: "INC-02", at: origin + .seconds(31)).isEmpty)
        registry.apply(LotEvent(id: 5, lot: "B", action: .end, device: nil, spec: nil, time: t0 - 3_300_000, user: "bob"), at: origin + .seconds(40))
        #expect(registry.inside(device: "INC-01", at: origin + .seconds(41)).isEmpty)
        #expect(registry.lotsInside.map(\.lot) == ["A"])
    }

    @Test("a store written before lots existed is upgraded: its readings are sealed as they were and verify")
    func upgrade() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/old.sqlite"
        do {
            let pool = try DatabasePool(path: path)
            try ReadingStore.migrator.migrate(pool, upTo: "v1 readings")
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO series (device, channel) VALUES ('INC-01', 'co2')")
                for i in 0..<5 {
                    try db.execute(
                        sql: "INSERT INTO reading (series, time, value, quality) VALUES (1, ?, ?, 0)",
                        arguments: [1_800_000_000_000 + Int64(i) * 1000, 5.0])
                }
            }
        }
        let store = try ReadingStore(path: path)
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [])
        #expect(report.readings == 5)
        #expect(report.seals == 1)
        #expect(try ReadingQuery(device: "INC-01").fetch(from: store).count == 5)
    }
}
