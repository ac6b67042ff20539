import Foundation
import GRDB
import Synchronization
import Testing
@testable import LabGate

/// A store failure injected inside the writer's transaction: while `failing` is set, the record
/// throws and the whole commit is rolled back, as a full disk, a lock or an I/O error does.
private final class Fault: Sendable {
    let failing = Mutex(true)

    func record(_ action: String) -> StoreRecord {
        StoreRecord(summary: "\(action) test") { [self] db in
            if failing.withLock({ $0 }) { throw DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full") }
            _ = try AuditTrail.append(.init(user: "labgate", action: action, object: "test"), db: db)
        }
    }
}

private func readings(_ range: Range<Int>, channel: String = "co2") -> [Reading] {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    return range.map { Reading(device: "INC-01", channel: channel, time: t0.addingTimeInterval(Double($0)), value: Double($0), quality: .good) }
}

@Suite("the writer's outbox: readings and records, in order, through a store failure")
struct StoreOutboxTests {
    @Test("records held between readings are committed in their order once the store takes writes, each run of readings sealed, overflow audited")
    func recordsInOrderThroughAFailure() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store, batchSize: 1000, capacity: 10)
        let fault = Fault()
        await writer.accept(readings(0..<3))
        await writer.hold(.audit(.init(user: "labgate", action: "first", object: "test")))
        await writer.accept(readings(3..<5))
        await writer.hold(fault.record("second"))
        await writer.accept(readings(5..<7))
        await #expect(throws: DatabaseError.self) { try await writer.flush() }
        #expect(await writer.isFailing)
        #expect(await writer.pendingCount == 7, "nothing dropped by the failed commit")
        #expect(await writer.heldRecords == 2)
        guard case .failing? = await writer.takeHealthChange() else { Issue.record("no failing change"); return }
        // 7 readings + 2 records + 3 more readings: 12 > 10, the two oldest readings go.
        await writer.accept(readings(7..<10))
        #expect(await writer.pendingCount == 8)
        #expect(await writer.lostCount == 2)

        fault.failing.withLock { $0 = false }
        try await writer.flush()
        guard case let .recovered(_, written, lost)? = await writer.takeHealthChange() else { Issue.record("no recovery"); return }
        #expect(written == 8 && lost == 2)
        let trail = try AuditTrail.list(in: store)
        #expect(trail.map(\.action) == ["first", "second", "readings_lost"])
        #expect(trail.last?.object == "series INC-01 co2")
        let stored = try ReadingQuery(device: "INC-01").fetch(from: store)
        #expect(stored.compactMap(\.value) == (2..<10).map(Double.init))
        let seals = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading_seal") }
        #expect(seals == 3, "readings before, between and after the records: one seal each")
        let report = try await AuditVerifier.verify(store)
        #expect(report.ok, "\(report.problems)")
    }

    @Test("a buffer full of records drops the oldest and audits them as records_lost; a keyed record replaces the one waiting")
    func recordsOverflowAudited() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store, capacity: 2)
        let fault = Fault()
        await writer.hold(fault.record("one"))
        await writer.hold(StoreRecord(summary: "state 1", key: "state") { _ in })
        await writer.hold(StoreRecord(summary: "state 2", key: "state") { _ in })
        #expect(await writer.heldRecords == 2, "the second state replaced the first")
        await writer.hold(.audit(.init(user: "labgate", action: "two", object: "test")))
        #expect(await writer.unwritten().records == ["state 2", "two test"])
        #expect(await writer.unwritten().lostRecords == ["one test"])
        try await writer.flush()
        let trail = try AuditTrail.list(in: store)
        #expect(trail.map(\.action) == ["two", "records_lost"])
        #expect(trail.last?.new?.contains("one test") == true)
    }

    @Test("a drain stops trying after its limit and says what it could not write")
    func drainIsBounded() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let writer = ReadingWriter(store: store)
        let fault = Fault()
        await writer.accept(readings(0..<4))
        await writer.hold(fault.record("daemon_stopped"))
        let clock = ContinuousClock()
        let start = clock.now
        let drained = await writer.drain(within: .milliseconds(300), retryEvery: .milliseconds(50))
        #expect(!drained)
        #expect(clock.now - start < .seconds(2))
        #expect(await writer.unwritten() == .init(readings: 4, records: ["daemon_stopped test"], lostReadings: 0, lostRecords: []))
        fault.failing.withLock { $0 = false }
        #expect(await writer.drain(within: .seconds(5)))
        #expect(try AuditTrail.list(in: store).map(\.action) == ["daemon_stopped"])
    }
}

@Suite("deviation ids and changes")
struct DeviationLedgerTests {
    private func record(_ id: String, channel: String = "co2", end: Int64? = nil) -> DeviationRecord {
        DeviationRecord(
            id: id, kind: .excursion, device: "INC-01", channel: channel, unit: "%",
            limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
            opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: end, worst: 4.3, size: nil, lots: ["LOT-1"])
    }

    @Test("an id shown in the alert log but never stored is not given again after a restart")
    func idsShownAreNeverReused() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let book = DeviationBook(store: store, daemonUser: "labgate")
        try await book.commit([.opened(record("DEV-2027-0001"))], state: "[]")
        // DEV-2027-0002 was alerted, then the daemon was killed before the store took it.
        let alerts = try AlertLog(folder: folder.path)
        for _ in 0..<2000 { try alerts.write(AlertEvent(time: Date(), severity: .info, event: .deviceBack, device: "INC-02")) }
        try alerts.write(DeviationAlerts.opened(record("DEV-2027-0002")))
        for _ in 0..<2000 { try alerts.write(AlertEvent(time: Date(), severity: .info, event: .deviceBack, device: "INC-02")) }
        let ledger = try await DeviationLedger.load(book: book, alertLog: alerts.jsonPath)
        #expect(ledger.nextID(year: 2027) == "DEV-2027-0003")
        #expect(ledger.nextID(year: 2028) == "DEV-2028-0001")
        let storeOnly = try await DeviationLedger.load(book: book)
        #expect(storeOnly.nextID(year: 2027) == "DEV-2027-0002", "what the store alone would have given")
    }

    @Test("a recovery or lots added for an id of another device or channel leaves that deviation alone, and is audited as refused")
    func changesApplyOnlyToTheirOwnChannel() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let book = DeviationBook(store: store, daemonUser: "labgate")
        try await book.commit([.opened(record("DEV-2027-0001"))], state: "[]")
        var stranger = record("DEV-2027-0001", channel: "temperature", end: 1_800_000_099_000)
        try await book.commit([.recovered(stranger)], state: "[]")
        stranger.lots = ["LOT-9"]
        try await book.commit([.lotsAdded(stranger, added: ["LOT-9"])], state: "[]")
        let stored = try #require(try await book.get("DEV-2027-0001"))
        #expect(stored == record("DEV-2027-0001"), "untouched")
        let trail = try AuditTrail.list(in: store)
        #expect(trail.map(\.action) == ["deviation_opened", "deviation_change_refused", "deviation_change_refused"])
        // Its own recovery applies, once: a retried commit changes nothing more.
        let own = record("DEV-2027-0001", end: 1_800_000_099_000)
        try await book.commit([.recovered(own), .recovered(own)], state: "[]")
        #expect(try await book.get("DEV-2027-0001")?.end == 1_800_000_099_000)
        #expect(try AuditTrail.list(in: store).filter { $0.action == "deviation_recovered" }.count == 1)
    }
}
