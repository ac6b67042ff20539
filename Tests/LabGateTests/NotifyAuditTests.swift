import Foundation
import GRDB
import Testing
@testable import LabGate

/// A store holding an alarm that was raised and then repeated, and one notification attempt, all
/// written as the daemon writes them (through the writer, each with its audit entry).
private func notifiedStore(_ folder: TemporaryFolder) async throws -> ReadingStore {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    let writer = ReadingWriter(store: store, batchSize: 3)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let event = NotifyEngineTests.deviation("DEV-2027-0001", at: t0)
    var alarm = AlarmRecord(
        id: "ALM-2027-0001", event: event, raised: t0.millisecondsSince1970, notify: ["hook"], repeat: .seconds(60),
        escalate: [], until: .acknowledged)
    await writer.hold(AlarmBook.save(alarm, audit: "alarm_raised", user: "labgate"))
    let notice = Notice(channel: "hook", items: [Notice.Item(event: event, reason: .raised, alarm: alarm.id)], time: t0)
    await writer.hold(NotificationLog.record(NotificationAttempt(
        time: t0.addingTimeInterval(1.2504), channel: "hook", kind: "webhook", recipients: "http://127.0.0.1:9/x", notice: notice,
        attempt: 1, result: .failed, detail: "POST http://127.0.0.1:9/x: 500", user: "labgate")))
    alarm.repeatsSent = 1
    await writer.hold(AlarmBook.save(alarm, audit: nil, user: "labgate"))
    // Saved again unchanged: nothing is written (no audit entry for nothing).
    await writer.hold(AlarmBook.save(alarm, audit: nil, user: "labgate"))
    try await writer.flush()
    return store
}

/// Runs SQL as the sqlite3 shell would, dropping the triggers that stand in its way first.
private func tamper(_ store: ReadingStore, _ sql: String, dropping triggers: [String]) async throws {
    try await store.pool.writeWithoutTransaction { db in
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER \(trigger)") }
        try db.execute(sql: sql)
    }
}

@Suite("audit verify: alarms and notification attempts against the trail")
struct NotifyAuditTests {
    @Test("an untouched store verifies; every change of an alarm (raised, repeated) is audited as its row, an unchanged save is not")
    func intact() async throws {
        let folder = try TemporaryFolder()
        let store = try await notifiedStore(folder)
        let report = try await AuditVerifier.verify(store)
        #expect(report.problems == [])
        #expect(report.alarms == 1 && report.notifications == 1)
        let actions = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit ORDER BY seq") }
        #expect(actions == ["alarm_raised", "notification_failed", "alarm_repeated"])
    }

    @Test("an edited or deleted alarm or notification row, and the trigger dropped to allow it, are each named")
    func tampering() async throws {
        let cases: [(sql: String, triggers: [String], expected: [String])] = [
            ("UPDATE alarm SET record = replace(record, '\"repeatsSent\":1', '\"repeatsSent\":0')", [],
             ["alarm ALM-2027-0001 was changed: it does not match audit entry 3"]),
            ("UPDATE alarm SET state = 'acknowledged'", [], ["alarm ALM-2027-0001 was changed"]),
            ("DELETE FROM alarm", ["alarm_no_delete"], [
                "alarm ALM-2027-0001 is missing (deleted): audit entry 3 recorded it",
                "protective trigger alarm_no_delete on table alarm is missing (dropped): deletions from alarm are no longer refused",
            ]),
            ("UPDATE notification SET result = 'delivered', detail = NULL", ["notification_append_only_update"], [
                "notification 1 (hook, 2027-01-15T08:00:01.250Z) was changed: it does not match audit entry 2",
                "protective trigger notification_append_only_update on table notification is missing (dropped)",
            ]),
            ("UPDATE notification SET time = time + 60000", ["notification_append_only_update"], [
                "notification 1 (hook, 2027-01-15T08:01:01.250Z) was changed",
                "protective trigger notification_append_only_update on table notification is missing (dropped)",
            ]),
            ("DELETE FROM notification", ["notification_append_only_delete"], [
                "notification 1 is missing (deleted): audit entry 2 recorded it",
                "protective trigger notification_append_only_delete on table notification is missing (dropped)",
            ]),
            ("INSERT INTO notification (time, channel, kind, recipients, events, alarms, deviations, reason, attempt, result, detail, user) SELECT time, channel, kind, recipients, events, alarms, deviations, reason, 2, 'delivered', NULL, user FROM notification", [],
             ["notification 2 (hook, 2027-01-15T08:00:01.250Z) has no audit entry (inserted behind the daemon's back)"]),
        ]
        for (sql, triggers, expected) in cases {
            let folder = try TemporaryFolder()
            let store = try await notifiedStore(folder)
            try await tamper(store, sql, dropping: triggers)
            let report = try await AuditVerifier.verify(store)
            #expect(report.problems.count == expected.count, "\(sql): \(report.problems)")
            for (problem, start) in zip(report.problems, expected) {
                #expect(problem.hasPrefix(start), "\(sql): \(report.problems)")
            }
        }
    }
}
