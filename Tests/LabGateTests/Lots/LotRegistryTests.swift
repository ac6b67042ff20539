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
