import Foundation
import GRDB
import Testing
import TestSupport
@testable import LabGate
@testable import LabGateReport

/// LOT-1 inside INC-01 over [t0, t0 + 60 s), co2 and temperature each second, in the same batches
/// as INC-09's 20 channels (20 times the lot's readings), a batch every 5 s, and readings of
/// both devices for 30 s before and after.
private func sharedStore(_ folder: TemporaryFolder, oldSeals: Bool = false) async throws -> (ReadingStore, Date) {
    let store = try ReadingStore(path: folder.file("store.sqlite"))
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    if oldSeals {
        // What a labgate from before per-series seals wrote: a batch's rows under one digest.
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO series (id, device, channel) VALUES (1, 'INC-01', 'co2')")
            for second in -30..<10 {
                try db.execute(
                    sql: "INSERT INTO reading (rowid, series, time, value, quality, seal) VALUES (?, 1, ?, ?, 0, 1)",
                    arguments: [second + 31, t0.addingTimeInterval(Double(second)).millisecondsSince1970, 5.0])
            }
            try ReadingSeal.append(count: 40, digest: try ReadingSeal.digestAll(db: db), time: 1_700_000_010_000, db: db)
        }
    }
    let config = incubatorConfig(folder: folder.path)
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let started = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    let ended = try await book.end(lot: "LOT-1", note: nil, user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: started.id, device: nil, spec: nil, at: t0, reason: "test", user: "alice")
    _ = try await book.correct(lot: "LOT-1", event: ended.id, device: nil, spec: nil, at: t0.addingTimeInterval(60), reason: "test", user: "alice")
    let writer = ReadingWriter(store: store, batchSize: 1_000_000)
    for second in (oldSeals ? 10 : -30)..<90 {
        let time = t0.addingTimeInterval(Double(second))
        let lots = (0..<60).contains(second) ? ["LOT-1"] : []
        var poll = [
            Reading(device: "INC-01", channel: "co2", time: time, value: 5, quality: .good, lots: lots),
            Reading(device: "INC-01", channel: "temperature", time: time, value: 37, quality: .good, lots: lots),
        ]
        poll += (0..<20).map { Reading(device: "INC-09", channel: "c\($0)", time: time, value: Double($0), quality: .good) }
        try await writer.append(poll)
        if (second + 30) % 5 == 4 { try await writer.flush() }
    }
    try await writer.flush()
    return (store, t0)
}

/// SQL as the sqlite3 shell would run it, triggers dropped first.
private func tamper(_ store: ReadingStore, _ sql: String) async throws {
    try await store.pool.writeWithoutTransaction { db in
        // The views' INSTEAD OF triggers stay: they pass a change on to the table holding the row.
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND sql NOT LIKE '%INSTEAD OF%'") {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: sql)
    }
}

private func lotIntegrity(_ store: ReadingStore, _ t0: Date) async throws -> LotReport.Integrity {
    try await LotReport.gather(lot: "LOT-1", store: store, config: nil, now: t0.addingTimeInterval(500)).integrity
}

@Suite("a lot's integrity at the cost of the lot")
struct LotIntegrityTests {
    @Test("the lot report re-hashes the lot's series in the seals covering its placement, not the other device's readings")
    func readsTheLotOnly() async throws {
        let folder = try TemporaryFolder()
        let (store, t0) = try await sharedStore(folder)
        let integrity = try await lotIntegrity(store, t0)
        #expect(integrity.ok, "\(integrity.problems)")
        let total = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reading")! }
        #expect(total == 120 * 22)
        // The lot's 2 × 60 readings, and its series' other readings in the batches at its edges.
        #expect(integrity.readingsChecked >= 120 && integrity.readingsChecked <= 140, "\(integrity.readingsChecked) of \(total)")
        #expect(integrity.sealsInChain == 24)
        #expect(try await AuditVerifier.verify(store).ok, "audit verify: the whole store")
        // Seals per series: a batch's digest covers one entry per series.
        let entries = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM seal_series")! }
        #expect(entries == 24 * 22)
    }

    @Test("a changed or deleted reading of the lot, a deleted seal and a deleted seal entry are found by the lot report; other devices' readings are audit verify's")
    func tampering() async throws {
        let lotRow = "(SELECT rowid FROM reading WHERE series = (SELECT id FROM series WHERE device = 'INC-01' AND channel = 'co2') AND time = 1700000020000)"
        let cases: [(sql: String, lot: String?, whole: String)] = [
            ("UPDATE reading SET value = 4.9 WHERE rowid = \(lotRow)", "readings of INC-01 co2 in seal 11 were changed", "readings of seal 11 (committed"),
            ("DELETE FROM reading WHERE rowid = \(lotRow)", "readings of INC-01 co2 in seal 11: 4 stored, 5 sealed — 1 deleted", "readings of seal 11 (committed"),
            ("DELETE FROM reading_seal WHERE id = 12", "reading seal 12 is missing (deleted)", "reading seal 12 is missing (deleted)"),
            ("DELETE FROM seal_series WHERE seal = 12 AND series = 1", "reading seal 13's entry for INC-01 co2 does not follow its entry in seal 11", "reading seal 13's entry for INC-01 co2 does not follow its entry in seal 11"),
            ("UPDATE reading SET value = 99 WHERE time = 1700000020000 AND series = (SELECT id FROM series WHERE channel = 'c7')", nil, "readings of seal 11 (committed"),
        ]
        for (sql, lot, whole) in cases {
            let folder = try TemporaryFolder()
            let (store, t0) = try await sharedStore(folder)
            try await tamper(store, sql)
            let integrity = try await lotIntegrity(store, t0)
            if let lot {
                #expect(integrity.problems.first?.hasPrefix(lot) == true, "\(sql): \(integrity.problems)")
            } else {
                #expect(integrity.ok, "another device's reading is not the lot's: \(integrity.problems)")
            }
            let verified = try await AuditVerifier.verify(store)
            #expect(verified.problems.first?.hasPrefix(whole) == true, "\(sql): \(verified.problems)")
        }
    }

    @Test("seals of the format before per-series seals still verify, whole and for a lot, and a change in them is found")
    func oldSeals() async throws {
        let folder = try TemporaryFolder()
        let (store, t0) = try await sharedStore(folder, oldSeals: true)
        let format = try await store.pool.read { db in try Int64?.fetchAll(db, sql: "SELECT format FROM reading_seal ORDER BY id") }
        #expect(format.first == .some(nil) && format.dropFirst().allSatisfy { $0 == ReadingSeal.perSeries })
        #expect(try await AuditVerifier.verify(store).problems == [])
        let integrity = try await lotIntegrity(store, t0)
        #expect(integrity.ok, "\(integrity.problems)")
        try await tamper(store, "UPDATE reading SET value = 4.9 WHERE rowid = 35")
        #expect(try await AuditVerifier.verify(store).problems.first?.hasPrefix("readings of seal 1 (committed") == true)
        #expect(try await lotIntegrity(store, t0).problems.first?.hasPrefix("readings of seal 1 (committed") == true)
    }
}
