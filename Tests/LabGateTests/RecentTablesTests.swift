import Foundation
import GRDB
import Testing
@testable import LabGate

/// One poll of `devices` incubators × 4 channels at second `second`.
private func poll(_ second: Int, devices: Int) -> [Reading] {
    let time = Date(timeIntervalSince1970: 1_800_000_000 + Double(second))
    return (0..<devices).flatMap { device in
        ["temperature", "co2", "rh", "o2"].map { channel in
            Reading(device: String(format: "INC-%03d", device), channel: channel, time: time,
                    value: 37 + Double(second % 10) / 100, quality: .good, lots: device == 0 ? ["LOT-1"] : [])
        }
    }
}

private let readingRows = "SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading ORDER BY rowid"
private let entryRows = "SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series ORDER BY seal, series"

/// Frames in the store's WAL: the pages its commits wrote since the last checkpoint.
private func walFrames(_ path: String) throws -> Int {
    let size = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int
    return max(0, size - 32) / (4096 + 24)
}

@Suite("store: recent readings appended, moved by series")
struct RecentTablesTests {
    @Test("a flush at 250 devices × 4 channels writes the pages its rows fill, not a page per series, however long the series are")
    func flushPagesBounded() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/store.sqlite"
        let store = try ReadingStore(path: path)
        // Moved often, as the daemon's store is after a few minutes: every series has a long
        // stored tail that a flush must not touch.
        let writer = ReadingWriter(store: store, movePeriod: .seconds(3600), moveReadings: 1_000_000)
        for second in 0..<40 {
            try await writer.append(poll(second, devices: 250))
            try await writer.flush()
        }
        try await writer.moveRecent()
        var frames: [Int] = []
        for second in 40..<43 {
            try await store.pool.writeWithoutTransaction { db in
                _ = try db.checkpoint(.truncate)
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            }
            try await writer.append(poll(second, devices: 250))
            try await writer.flush()
            frames.append(try walFrames(path))
        }
        // 1000 readings (~40 kB) and 1000 seal entries (~250 kB) fill ~80 pages; the series
        // layout written in place dirtied ~2,000–4,500 (one per series in each of `reading`,
        // `seal_series` and its (series, last) index).
        #expect(frames.allSatisfy { $0 > 0 && $0 < 200 }, "\(frames)")
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [])
        #expect(report.readings == 43_000)
    }

    @Test("the move keeps every reading and seal entry as written, row numbers and chains included; verify and a lot's check pass before and after it")
    func moveKeepsEverything() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store, batchSize: 1_000_000, movePeriod: .seconds(3600), moveReadings: 1_000_000)
        for second in 0..<20 {
            try await writer.append(poll(second, devices: 3))
            try await writer.flush()
            if second == 9 { try await writer.moveRecent() }
        }
        let before = try store.pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
        let recent = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading_recent")! }
        #expect(before.0.count == 240 && before.1.count == 240 && recent == 120)
        #expect(try await AuditVerifier.verify(store).problems == [])
        let windows = (1...4).map { LotWindow(series: Int64($0), from: 1_800_000_000_000, to: 1_800_000_020_000) }
        #expect(try await AuditVerifier.verifyLot(store, windows: windows).report.problems == [])

        try await writer.moveRecent()
        let after = try store.pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
        #expect(after.0 == before.0)
        #expect(after.1 == before.1)
        let left = try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM reading_recent) + (SELECT count(*) FROM seal_series_recent)")!
        }
        #expect(left == 0)
        let report = try await AuditVerifier.verify(store, parts: 2, splitAbove: 10)
        #expect(report.problems == [] && report.readings == 240 && report.seals == 20)
        #expect(try await AuditVerifier.verifyLot(store, windows: windows).report.problems == [])
        #expect(try await store.pool.read { db in try SchemaCheck.check(db) } == [])

        // New readings chain on from the moved entries (the writer's heads, and a new writer's lookup).
        let fresh = ReadingWriter(store: store)
        try await fresh.append(poll(20, devices: 3))
        try await fresh.flush()
        #expect(try await AuditVerifier.verify(store).problems == [])
    }

    @Test("a batch holding many readings of each series (a backlog, a bulk load) is written in place; a sparse one is appended; both verify")
    func denseBatchInPlace() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store, batchSize: 1_000_000, movePeriod: .seconds(3600))
        for second in 0..<100 { try await writer.append(poll(second, devices: 1)) }
        try await writer.flush()
        try await writer.append(poll(100, devices: 1))
        try await writer.flush()
        let counts = try await store.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM reading_stored), (SELECT count(*) FROM reading_recent),
                    (SELECT count(*) FROM seal_series_stored), (SELECT count(*) FROM seal_series_recent)
                """).map { [$0[0], $0[1], $0[2], $0[3]] as [Int] }
        }
        #expect(counts == [400, 4, 4, 4])
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [] && report.readings == 404 && report.seals == 2)
    }

    @Test("recent and stored readings and seal entries refuse changes and deletions; a recent one leaves only as its stored copy is made")
    func refused() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store, movePeriod: .seconds(3600))
        try await writer.append(poll(0, devices: 1))
        try await writer.flush()
        try await writer.moveRecent()
        try await writer.append(poll(1, devices: 1))
        try await writer.flush()
        let statements: [(String, String)] = [
            ("UPDATE reading SET value = 5 WHERE rowid = 1", "stored readings are never changed"),
            ("UPDATE reading SET value = 5 WHERE rowid = 5", "stored readings are never changed"),
            ("UPDATE reading_recent SET value = 5", "stored readings are never changed"),
            ("DELETE FROM reading WHERE rowid = 1", "stored readings are never deleted"),
            ("DELETE FROM reading WHERE rowid = 5", "stored readings are never deleted"),
            ("DELETE FROM reading_recent", "stored readings are never deleted"),
            ("UPDATE seal_series SET count = 2", "reading seals are append-only"),
            ("DELETE FROM seal_series WHERE seal = 2", "reading seals are append-only"),
            ("DELETE FROM seal_series_recent", "reading seals are append-only"),
            ("DELETE FROM seal_series WHERE seal = 1", "reading seals are append-only"),
        ]
        for (sql, message) in statements {
            let error = await #expect(throws: DatabaseError.self, "\(sql)") {
                try await store.pool.write { db in try db.execute(sql: sql) }
            }
            #expect(error?.message == message, "\(sql)")
        }
        // A copy made stored with one field changed does not let the recent row go.
        let copied = await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO reading_stored SELECT rowid, series, time, value + 1, quality, detail, lot_set, seal FROM reading_recent;
                    DELETE FROM reading_recent;
                    """)
            }
        }
        #expect(copied?.message == "stored readings are never deleted")
        #expect(try await AuditVerifier.verify(store).problems == [])
    }

    @Test("a store at the series layout migrates without a rebuild: its tables renamed, every row and entry readable as before, and it verifies")
    func migratesFromSeriesLayout() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/v6.sqlite"
        var readings: [Row] = []
        var entries: [Row] = []
        do {
            let pool = try DatabasePool(path: path)
            try ReadingStore.migrator.migrate(pool, upTo: SeriesLayoutMigration.name)
            try await pool.write { db in
                var known = ReadingWriter.Known()
                for second in 0..<10 {
                    known.merge(try ReadingWriter.insert(
                        poll(second, devices: 2), known: known, db: db, sealedAt: 1_800_000_000_000 + Int64(second + 1) * 1000))
                }
            }
            (readings, entries) = try pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
        }
        #expect(readings.count == 80 && entries.count == 80)
        let store = try ReadingStore(path: path)
        let migrated = try store.pool.read { db in (try Row.fetchAll(db, sql: readingRows), try Row.fetchAll(db, sql: entryRows)) }
        #expect(migrated.0 == readings)
        #expect(migrated.1 == entries)
        let kinds = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, type FROM sqlite_master WHERE name IN ('reading', 'seal_series', 'reading_stored', 'seal_series_stored') ORDER BY name")
                .map { "\($0[0] as String) \($0[1] as String)" }
        }
        #expect(kinds == ["reading view", "reading_stored table", "seal_series view", "seal_series_stored table"])
        #expect(try await store.pool.read { db in try SchemaCheck.check(db) } == [])
        let writer = ReadingWriter(store: store)
        try await writer.append(poll(10, devices: 2))
        try await writer.flush()
        let numbers = try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM reading_recent ORDER BY rowid") }
        #expect(numbers == Array(81...88))
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [] && report.readings == 88 && report.seals == 11)
    }
}
