import Foundation
import GRDB
import Testing
@testable import LabGate

/// A real store file with 7 readings written by the real writer in batches of 3: seals 1 (rows
/// 1–3), 2 (rows 4–6) and 3 (row 7).
private func sealedStore(_ folder: TemporaryFolder) async throws -> ReadingStore {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let writer = ReadingWriter(store: store, batchSize: 3)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    for i in 0..<7 {
        try await writer.append([Reading(
            device: "INC-01", channel: "co2", time: t0.addingTimeInterval(Double(i)), value: 5, quality: .good)])
    }
    try await writer.flush()
    return store
}

/// SQL as someone with write access to the file runs it (the sqlite3 shell): only the triggers
/// it names are dropped.
private func tamper(_ store: ReadingStore, _ sql: String) async throws {
    try await store.pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
}

private func problems(_ store: ReadingStore) async throws -> [String] {
    try await AuditVerifier.verify(store).problems
}

@Suite("audit verify: triggers, seals and gaps")
struct SchemaCheckTests {
    @Test("an untampered store passes; the triggers expected are those the migrations make, the seals' delete trigger among them")
    func untampered() async throws {
        let folder = try TemporaryFolder()
        let store = try await sealedStore(folder)
        #expect(try await problems(store) == [])
        let expected = try SchemaCheck.expectedTriggers(upTo: ReadingStore.migrator.migrations.last!).map(\.name)
        let stored = try await store.pool.read { db in try SchemaCheck.triggers(db).map(\.name) }
        #expect(stored == expected)
        #expect(expected.contains("reading_seal_append_only_delete"))
        #expect(expected.contains("notification_append_only_delete") && expected.contains("alarm_no_delete"))
        #expect(expected.contains("signature_append_only_update") && expected.contains("signature_append_only_delete"))
        #expect(expected.count == 16)
        let refused = await #expect(throws: DatabaseError.self) { try await tamper(store, "DELETE FROM reading_seal WHERE id = 2") }
        #expect(refused?.message == "reading seals are append-only")
    }

    @Test("a dropped, an altered and an added trigger are each named with their table")
    func triggers() async throws {
        let cases: [(sql: String, expected: String)] = [
            ("DROP TRIGGER reading_sealed_delete",
             "protective trigger reading_sealed_delete on table reading is missing (dropped): deletions from reading are no longer refused"),
            ("DROP TRIGGER audit_append_only_update; CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit WHEN NEW.user = 'nobody' BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
             "protective trigger audit_append_only_update on table audit was altered: its SQL is not the one the migrations create, so changes to the rows of audit may no longer be refused"),
            ("DROP TRIGGER lot_event_append_only_delete; CREATE TRIGGER lot_event_append_only_delete BEFORE DELETE ON lot_set BEGIN SELECT RAISE(ABORT, 'lot events are append-only'); END",
             "protective trigger lot_event_append_only_delete on table lot_event was altered: its SQL is not the one the migrations create (it is now on table lot_set), so deletions from lot_event may no longer be refused"),
            ("CREATE TRIGGER quiet AFTER INSERT ON reading BEGIN SELECT 1; END",
             "trigger quiet on table reading is not one the migrations create (added behind the daemon's back)"),
            ("DELETE FROM grdb_migrations WHERE identifier = 'v3 seals per series'",
             "the store's record of its migrations lacks 'v3 seals per series', though later ones are recorded (grdb_migrations was changed behind the daemon's back)"),
        ]
        for (sql, expected) in cases {
            let folder = try TemporaryFolder()
            let store = try await sealedStore(folder)
            try await tamper(store, sql)
            #expect(try await problems(store) == [expected], "\(sql)")
        }
    }

    @Test("a deleted seal row (its trigger dropped first), a deleted middle seal, several, the first and the newest are named by seal, and readings left without a seal by rows and time")
    func seals() async throws {
        let dropped = "protective trigger reading_seal_append_only_delete on table reading_seal is missing (dropped): deletions from reading_seal are no longer refused"
        let cases: [(sql: String, expected: [String])] = [
            // The seal row alone: its readings stay, naming it.
            ("DROP TRIGGER reading_seal_append_only_delete; DELETE FROM reading_seal WHERE id = 2", [
                "reading seal 2 is missing (deleted): the chain of seals jumps from seal 1 to seal 3",
                "3 readings (rows 4–6, 2027-01-15T08:00:03.000Z to 2027-01-15T08:00:05.000Z) are covered by no seal: seal 2, which they name, is missing (deleted)",
                dropped,
            ]),
            // The middle seal with its readings and entries: a clean hole, found by the chain.
            ("""
             DROP TRIGGER reading_seal_append_only_delete; DROP TRIGGER reading_sealed_delete; DROP TRIGGER seal_series_append_only_delete;
             DELETE FROM reading WHERE seal = 2; DELETE FROM seal_series WHERE seal = 2; DELETE FROM reading_seal WHERE id = 2;
             CREATE TRIGGER reading_seal_append_only_delete BEFORE DELETE ON reading_seal
                 BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
             CREATE TRIGGER reading_sealed_delete BEFORE DELETE ON reading
                 BEGIN SELECT RAISE(ABORT, 'stored readings are never deleted'); END;
             CREATE TRIGGER seal_series_append_only_delete BEFORE DELETE ON seal_series
                 BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END
             """, [
                "reading seal 2 is missing (deleted): the chain of seals jumps from seal 1 to seal 3",
                "reading seal 3's entry for INC-01 co2 does not follow its entry in seal 1 (an entry of the series was changed or deleted)",
            ]),
            ("DROP TRIGGER reading_seal_append_only_delete; DROP TRIGGER reading_sealed_delete; DELETE FROM reading WHERE seal IN (1, 2); DELETE FROM reading_seal WHERE id IN (1, 2)", [
                "reading seals 1–2 are missing (deleted): the chain of seals starts at seal 3",
                // In the order the migrations make the triggers: reading's were made again by
                // "v6 readings and seal entries stored by series", after the seals' (v4).
                dropped,
                "protective trigger reading_sealed_delete on table reading is missing (dropped): deletions from reading are no longer refused",
            ]),
            ("DROP TRIGGER reading_seal_append_only_delete; DELETE FROM reading_seal WHERE id = 3", [
                "1 reading (row 7, 2027-01-15T08:00:06.000Z) is covered by no seal: they name seal 3, past the newest seal 2 (the newest seals were deleted, or the readings inserted behind the daemon's back)",
                dropped,
            ]),
        ]
        for (sql, expected) in cases {
            let folder = try TemporaryFolder()
            let store = try await sealedStore(folder)
            try await tamper(store, sql)
            #expect(try await problems(store) == expected, "\(sql)")
            // Read in row ranges side by side (as large stores are), it finds the same.
            #expect(try await AuditVerifier.verify(store, parts: 3, splitAbove: 0).problems == expected, "\(sql)")
        }
    }

    @Test("a store migrated before the seals' delete trigger existed verifies without it: what is expected follows the migrations the store has")
    func olderStore() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/store.sqlite"
        let pool = try DatabasePool(path: path)
        try ReadingStore.migrator.migrate(pool, upTo: "v3 seals per series")
        try pool.close()
        let store = try ReadingStore(readingExisting: path)
        #expect(try await problems(store) == [])
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "DROP TRIGGER reading_sealed_update") }
        #expect(try await problems(store).first?.hasPrefix("protective trigger reading_sealed_update on table reading is missing (dropped)") == true)
    }
}
