import Foundation
import GRDB
import Testing
@testable import LabGate

/// Two incubators' temperature and CO2 polled together once a second, the first holding LOT-1;
/// one poll of INC-02 stamped a minute back (a wall-clock step), so that row order and time order
/// differ.
private func poll(_ second: Int) -> [Reading] {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    return ["INC-01", "INC-02"].flatMap { device in
        let time = device == "INC-02" && second == 7 ? t0.addingTimeInterval(-60) : t0.addingTimeInterval(Double(second))
        return [
            Reading(device: device, channel: "temperature", time: time, value: 37 + Double(second) / 100, quality: .good,
                    lots: device == "INC-01" ? ["LOT-1"] : []),
            second % 5 == 3
                ? Reading(device: device, channel: "co2", time: time, value: nil, quality: .timeout, detail: "no reply")
                : Reading(device: device, channel: "co2", time: time, value: 5, quality: .good,
                          lots: device == "INC-01" ? ["LOT-1"] : []),
        ]
    }
}

private let readingRows = "SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading ORDER BY rowid"
private let entryRows = "SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series ORDER BY seal, series"

@Suite("store layout: a series' readings and seal entries stored together")
struct SeriesLayoutMigrationTests {
    @Test("a store written before the layout change migrates with every row, row number and seal as it was, verifies, keeps its triggers, and takes new readings that verify too")
    func migratesWithData() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/old.sqlite"
        var readings: [Row] = []
        var entries: [Row] = []
        do {
            let pool = try DatabasePool(path: path)
            try ReadingStore.migrator.migrate(pool, upTo: "v5 alarms, notifications")
            try await pool.write { db in
                var known = ReadingWriter.Known()
                for second in 0..<30 {
                    known.merge(try ReadingWriter.insert(
                        poll(second), known: known, db: db, sealedAt: 1_800_000_000_000 + Int64(second + 1) * 1000))
                }
            }
            (readings, entries) = try pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
            let layout = try await pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'reading'") }
            #expect(layout?.contains("WITHOUT ROWID") == false)
        }
        #expect(readings.count == 120)
        #expect(entries.count == 120)

        let store = try ReadingStore(path: path)
        let migrated = try store.pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
        #expect(migrated.0 == readings)
        #expect(migrated.1 == entries)
        // Renamed by the next migration (`RecentTablesMigration`), which keeps them as they are.
        for table in ["reading_stored", "seal_series_stored"] {
            let sql = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [table]) }
            #expect(sql?.contains("WITHOUT ROWID") == true, "\(table)")
        }
        // A lot's series is read from its own part of the table: the query plan uses the key.
        let plan = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT value FROM reading WHERE series = 1 AND time BETWEEN 0 AND 1").map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("PRIMARY KEY") })

        var report = try await AuditVerifier.verify(store, parts: 2, splitAbove: 10)
        #expect(report.problems == [])
        #expect(report.readings == 120)
        #expect(report.seals == 30)
        #expect(try await store.pool.read { db in try SchemaCheck.check(db) } == [])
        let lot = try await AuditVerifier.verifyLot(
            store, windows: [1, 2].map { LotWindow(series: $0, from: 1_800_000_000_000, to: 1_800_000_030_000) })
        #expect(lot.report.problems == [])
        #expect(lot.report.readings == 60)

        // The writer numbers new rows after the migrated ones, and they verify with them.
        let writer = ReadingWriter(store: store, batchSize: 4)
        try await writer.append(poll(30))
        try await writer.flush()
        let numbers = try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM reading WHERE seal = 31 ORDER BY rowid") }
        #expect(numbers == [121, 122, 123, 124])
        report = try await AuditVerifier.verify(store, parts: 2, splitAbove: 10)
        #expect(report.problems == [])
        #expect(report.readings == 124)

        // The rebuilt tables refuse changes as before.
        let update = await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in try db.execute(sql: "UPDATE reading SET value = 5 WHERE rowid = 1") }
        }
        #expect(update?.message == "stored readings are never changed")
        let delete = await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in try db.execute(sql: "DELETE FROM seal_series WHERE seal = 1") }
        }
        #expect(delete?.message == "reading seals are append-only")
    }
}
