import Foundation
import GRDB
import Testing
@testable import LabGate
@testable import LabGateReport

private let now = Date(millisecondsSince1970: utc(11, 30, 3))

private func archiver(_ store: ReadingStore, site: Bool = false) -> MonthArchiver {
    MonthArchiver(store: store, options: .init(after: .seconds(86_400), requireSiteConfirmation: site))
}

/// LOT-A in INC-01 from 10 October on (the placement corrected to then), readings every 10 min
/// from 1 October to 5 November.
private func lotStore(_ folder: TemporaryFolder) async throws -> (ReadingStore, Config) {
    let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
    let config = incubatorConfig(folder: folder.path)
    let book = LotBook(store: store, registry: LotRegistry(), config: config)
    let started = try await book.start(lot: "LOT-A", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
    _ = try await book.correct(
        lot: "LOT-A", event: started.id, device: nil, spec: nil, at: Date(millisecondsSince1970: utc(10, 10)), reason: "placed then",
        user: "alice")
    try await writeMonths(store, from: utc(10, 1), to: utc(11, 5))
    return (store, config)
}

private func reportJSON(_ store: ReadingStore, config: Config) async throws -> (placements: Data, integrity: LotReport.Integrity) {
    let report = try await LotReport.gather(lot: "LOT-A", store: store, config: config, now: now)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return (try encoder.encode(report.placements), report.integrity)
}

@Suite("month archives")
struct MonthArchiveTests {
    @Test("a month moved to its archive file: the file read-only, the move audited, the live rows gone, the lot report and the record as before")
    func moveKeepsReportAndRecord() async throws {
        let folder = try TemporaryFolder()
        let (store, config) = try await lotStore(folder)
        let total = try readingCount(store)
        let before = try await reportJSON(LotReport.openStore(forLot: "LOT-A", path: store.path), config: config)
        #expect(before.integrity.ok)

        let moved = try archiver(store).archiveDue(now: now)
        #expect(moved.map(\.month) == ["2026-10"], "November has not ended 1 day ago")
        let archive = try #require(moved.first)
        let path = folder.path + "/archive/readings-2026-10.sqlite"
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o440)
        #expect(stat(folder.path + "/archive", &info) == 0 && info.st_mode & 0o777 == 0o750)
        #expect(try MonthArchiver.sha256(of: path) == archive.sha256)
        // October's 31 days every 10 min, two channels, none of them left in the live store.
        #expect(archive.readings == 31 * 144 * 2)
        #expect(try readingCount(store) == total - Int(archive.readings))
        let oldest = try await store.pool.read { db in try Int64.fetchOne(db, sql: "SELECT min(time) FROM reading") }
        #expect(oldest.map { $0 >= utc(11, 1) - 600_000 } == true)
        let entry = try #require(try AuditTrail.list(in: store, object: "archive 2026-10").last)
        #expect(entry.action == "month_archived" && entry.reason?.contains(archive.sha256) == true && entry.reason?.contains("8928 readings") == true)

        let after = try await reportJSON(LotReport.openStore(forLot: "LOT-A", path: store.path), config: config)
        #expect(after.placements == before.placements, "the report reads the archive as it read the store")
        #expect(after.integrity.ok && after.integrity.problems == [])
        #expect(after.integrity.readingsChecked == before.integrity.readingsChecked)
        #expect(after.integrity.sealsInChain == before.integrity.sealsInChain)
        let plain = try await reportJSON(ReadingStore(readingExisting: store.path), config: config)
        #expect(plain.placements != before.placements, "without the archive, October is missing from the report")

        let verified = try await AuditVerifier.verify(ReadingStore(readingExisting: store.path))
        #expect(verified.ok, "\(verified.problems)")
        #expect(verified.readings == total, "the archive's readings and the live store's, checked as one record")
    }

    @Test("the chain continues across files: a store whose every month was moved seals its next readings after the archived ones")
    func chainContinues() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        try await writeMonths(store, from: utc(9, 1), to: utc(10, 31, 23))
        let archived = try readingCount(store)
        let moved = try archiver(store).archiveDue(now: now)
        #expect(moved.map(\.month) == ["2026-09", "2026-10"])
        #expect(try readingCount(store) == 0)
        try await writeMonths(store, from: utc(11, 20), to: utc(11, 21))
        let first = try await store.pool.read { db in
            (try Int64.fetchOne(db, sql: "SELECT min(id) FROM reading_seal"), try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM reading"))
        }
        #expect(first.0 == moved[1].lastSeal + 1 && first.1 == moved[1].lastRow + 1)
        let verified = try await AuditVerifier.verify(ReadingStore(readingExisting: store.path))
        #expect(verified.ok, "\(verified.problems)")
        #expect(verified.readings == archived + 144 * 2)
    }

    @Test("audit verify names a missing, an edited and a swapped archive by its path")
    func verifyFindsArchives() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        try await writeMonths(store, from: utc(9, 1), to: utc(11, 2))
        _ = try archiver(store).archiveDue(now: now)
        let september = folder.path + "/archive/readings-2026-09.sqlite"
        let october = folder.path + "/archive/readings-2026-10.sqlite"
        func problems() async throws -> [String] { try await AuditVerifier.verify(ReadingStore(readingExisting: store.path)).problems }
        #expect(try await problems() == [])

        try FileManager.default.moveItem(atPath: october, toPath: october + ".away")
        let missing = try await problems()
        #expect(missing.contains { $0.contains(october) && $0.contains("is missing") }, "\(missing)")
        try FileManager.default.moveItem(atPath: october + ".away", toPath: october)
        #expect(try await problems() == [])

        // Edited: one reading's value, by someone who made the file writable first.
        try FileManager.default.copyItem(atPath: october, toPath: october + ".kept")
        chmod(october, 0o640)
        try await DatabaseQueue(path: october).write { db in
            try db.execute(sql: "UPDATE reading SET value = value + 1 WHERE rowid = (SELECT min(rowid) FROM reading WHERE value IS NOT NULL)")
        }
        let edited = try await problems()
        #expect(edited.contains { $0.contains(october) && $0.contains("SHA-256") }, "\(edited)")
        #expect(edited.contains { $0.contains("in \(october)") && $0.contains("digest does not match") }, "\(edited)")
        #expect(edited.contains { $0.contains(october) && $0.contains("writable") }, "\(edited)")
        try FileManager.default.removeItem(atPath: october)
        try FileManager.default.moveItem(atPath: october + ".kept", toPath: october)
        #expect(try await problems() == [])

        // Swapped: September's file under October's name and back.
        try FileManager.default.moveItem(atPath: october, toPath: october + ".swap")
        try FileManager.default.moveItem(atPath: september, toPath: october)
        try FileManager.default.moveItem(atPath: october + ".swap", toPath: september)
        let swapped = try await problems()
        #expect(swapped.contains { $0.contains(october) && $0.contains("swapped") }, "\(swapped)")
        #expect(swapped.contains { $0.contains(september) && $0.contains("SHA-256") }, "\(swapped)")
    }

    @Test("the store refuses deleting readings and seals outside a month recorded as archived, and a forged archive record is found")
    func triggersGuardTheMove() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        try await writeMonths(store, from: utc(10, 1), to: utc(10, 3))
        for sql in ["DELETE FROM reading WHERE seal = 1", "DELETE FROM seal_series WHERE seal = 1", "DELETE FROM reading_seal WHERE id = 1"] {
            #expect(throws: DatabaseError.self, "\(sql)") { try store.pool.write { db in try db.execute(sql: sql) } }
        }
        // An attacker's record of an archive lets the trigger pass, but has no audit entry. (The
        // rows are first moved out of the recent tables, whose trigger lets a row go only once stored.)
        _ = try await store.pool.writeWithoutTransaction { db in try RecentMove.run(db) }
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO archive VALUES ('2026-10', 'x', 'x', 1, 1, 'x', 1, 24, 24, 1, 2, 0)")
            try db.execute(sql: "DELETE FROM reading WHERE seal = 1")
        }
        let problems = try await AuditVerifier.verify(ReadingStore(readingExisting: store.path)).problems
        #expect(problems.contains { $0.contains("month archive 2026-10 (x) has no audit entry") }, "\(problems)")
    }

    @Test("a full disk while the archive is written leaves no file and the store as it was; the move succeeds once there is room")
    func diskFullDuringWrite() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        try await writeMonths(store, from: utc(10, 1), to: utc(11, 2))
        let total = try readingCount(store)
        var options = MonthArchiver.Options(after: .seconds(86_400), requireSiteConfirmation: false)
        options.maxPages = 20
        do {
            _ = try MonthArchiver(store: store, options: options).archiveDue(now: now)
            Issue.record("the move did not fail")
        } catch {
            #expect("\(error)".contains("full"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/archive") == [])
        #expect(try readingCount(store) == total)
        #expect(try await AuditVerifier.verify(ReadingStore(readingExisting: store.path)).ok)
        #expect(try archiver(store).archiveDue(now: now).count == 1)
    }

    @Test("with a site store, a month moves only once the forwarder's confirmed positions cover its readings, seals, entries and audit entries")
    func siteConfirmation() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/labgate.sqlite")
        try await writeMonths(store, from: utc(10, 1), to: utc(11, 2))
        try await store.pool.write { db in
            _ = try AuditTrail.append(.init(user: "alice", action: "note", object: "site"), db: db, at: Date(millisecondsSince1970: utc(10, 5)))
        }
        let candidate = try #require(try archiver(store, site: true).candidate(now: now))
        #expect(candidate.waiting == "the site store has not confirmed readings, seals, seal entries, audit entries of 2026-10 yet", "\(candidate)")
        #expect(try archiver(store, site: true).archiveDue(now: now) == [])
        try await ForwardStatusStore.write(
            positions: ["reading": candidate.lastRow, "reading_seal": candidate.lastSeal, "seal_series": candidate.lastSeal], to: store)
        #expect(try archiver(store, site: true).candidate(now: now)?.waiting == "the site store has not confirmed audit entries of 2026-10 yet")
        try await ForwardStatusStore.write(positions: ["audit": 1], to: store)
        #expect(try archiver(store, site: true).archiveDue(now: now).map(\.month) == ["2026-10"])
        #expect(try archiver(store, site: false).candidate(now: now)?.waiting?.contains("2026-11 may move from 2026-12-02") == true)
    }
}
