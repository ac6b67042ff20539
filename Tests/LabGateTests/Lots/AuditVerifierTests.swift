import Foundation
import GRDB
import Testing
@testable import LabGate

/// A store with sealed readings (tagged with a lot), a lot event and a deviation, all audited.
private func populatedStore(_ folder: TemporaryFolder) async throws -> ReadingStore {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let config = incubatorConfig(folder: folder.path)
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    _ = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    let writer = ReadingWriter(store: store, batchSize: 3)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    for i in 0..<7 {
        try await writer.append([Reading(
            device: "INC-01", channel: "co2", time: t0.addingTimeInterval(Double(i)), value: 5 - Double(i) * 0.1,
            quality: .good, lots: ["LOT-1"])])
    }
    try await writer.flush()
    let deviations = DeviationBook(store: store, daemonUser: "labgate")
    let record = DeviationRecord(
        id: "DEV-2027-0001", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
        limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
        opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: nil, worst: 4.3, size: nil, lots: ["LOT-1"])
    try await deviations.commit([.opened(record)], state: "[]")
    _ = try await deviations.acknowledge("DEV-2027-0001", user: "alice", comment: "seen")
    return store
}

/// Runs SQL as the sqlite3 shell would (foreign keys not enforced): triggers dropped first,
/// nothing through the daemon.
private func tamper(_ store: ReadingStore, _ sql: String) async throws {
    try await store.pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        // The views' INSTEAD OF triggers stay: they pass a change on to the table holding the row.
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND sql NOT LIKE '%INSTEAD OF%'") {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: sql)
    }
}

@Suite("audit verify")
struct AuditVerifierTests {
    @Test("an untouched store verifies; readings are stored with their lots and sealed per batch")
    func intact() async throws {
        let folder = try TemporaryFolder()
        let store = try await populatedStore(folder)
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [])
        #expect(report.readings == 7)
        // Split for reading side by side only where one seal's rows end: 1–3 | 4–6 | 7.
        let ranges = try await store.pool.read { db in try AuditVerifier.rowRanges(db, parts: 3, splitAbove: 0) }
        #expect(ranges == [1...3, 4...6, 7...7])
        let split = try await AuditVerifier.verify(store, parts: 3, splitAbove: 0)
        #expect(split.problems == [] && split.readings == 7 && split.seals == 3)
        #expect(report.seals == 3)
        #expect(report.lotEvents == 1)
        #expect(report.deviations == 1)
        #expect(try ReadingQuery(device: "INC-01").fetch(from: store).allSatisfy { $0.lots == ["LOT-1"] })
        let update = await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in try db.execute(sql: "UPDATE reading SET value = 5") }
        }
        #expect(update?.message?.contains("never changed") == true)
        await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in try db.execute(sql: "DELETE FROM audit") }
        }
    }

    @Test("an edited reading, a deleted reading, a deleted deviation, an edited lot event and edited or deleted audit entries are each named")
    func tampering() async throws {
        let cases: [(sql: String, expected: String)] = [
            ("UPDATE reading SET value = 4.9 WHERE rowid = 5", "readings of seal 2 (committed"),
            ("DELETE FROM reading WHERE rowid = 6", "readings of seal 2 (committed"),
            ("DELETE FROM reading WHERE rowid = 7", "all 1 readings of seal 3"),
            ("INSERT INTO reading (rowid, series, time, value, quality, seal) VALUES (8, 1, 0, 1.0, 0, 3)", "readings of seal 3"),
            ("UPDATE reading SET lot_set = NULL WHERE rowid = 1", "readings of seal 1"),
            ("DELETE FROM deviation", "deviation DEV-2027-0001 is missing (deleted): audit entry"),
            ("UPDATE deviation SET record = replace(record, '\"worst\":4.3', '\"worst\":4.4')", "deviation DEV-2027-0001 was changed"),
            ("UPDATE lot_event SET device = 'INC-02'", "lot event 1 (start LOT-1) was changed"),
            ("UPDATE audit SET user = 'mallory' WHERE seq = 1", "audit entry 1 (lot_start lot LOT-1"),
            ("DELETE FROM audit WHERE seq = 2", "audit entry 2 is missing (deleted)"),
            ("DELETE FROM reading_seal WHERE id = 2", "reading seal 2 is missing (deleted)"),
            ("UPDATE reading SET series = 99 WHERE rowid = 2", "reading row 2 (series 99) names a series that does not exist"),
            ("UPDATE series SET channel = 'temperature'", "readings of seal 1 (committed"),
            ("UPDATE lot_set SET lots = 'LOT-2'", "readings of seal 1 (committed"),
            ("UPDATE quality SET name = 'fine' WHERE code = 0", "readings of seal 1 (committed"),
        ]
        for (sql, expected) in cases {
            let folder = try TemporaryFolder()
            let store = try await populatedStore(folder)
            try await tamper(store, sql)
            let report = try await AuditVerifier.verify(store)
            #expect(report.problems.first?.hasPrefix(expected) == true, "\(sql): \(report.problems)")
            // Read in row ranges side by side (as large stores are), it finds the same, in order.
            let split = try await AuditVerifier.verify(store, parts: 3, splitAbove: 0)
            #expect(split.problems == report.problems, "\(sql)")
            #expect(split.readings == report.readings)
        }
    }
}
