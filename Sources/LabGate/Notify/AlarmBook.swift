import Foundation
import GRDB

/// Stored alarms: saved through the writer as they change (raised, a repeat or escalation sent,
/// recovered, acknowledged), each change audited with the record (`record` alarm:ID), so that
/// `audit verify` finds an alarm row edited or deleted behind the daemon's back.
public enum AlarmBook {
    /// The record to hand to the writer for an alarm's new state; `audit` names the action
    /// (alarm_raised, alarm_recovered, alarm_acknowledged), or nil for its progress
    /// (alarm_repeated, alarm_escalated). A save that changes nothing writes nothing.
    /// `signature` (on an acknowledgement) is written right after its entry, over the record.
    public static func save(
        _ alarm: AlarmRecord, audit action: String?, user: String, signature: SignatureGrant? = nil
    ) -> StoreRecord {
        StoreRecord(summary: "\(action ?? "alarm_progress") alarm \(alarm.id)") { db in
            let old = try fetch(alarm.id, db: db)
            if old == alarm { return }
            let action = action ?? progress(from: old, to: alarm)
            let json = AuditJSON.encode(alarm)
            try db.execute(
                sql: """
                    INSERT INTO alarm (id, record, state, deviation, raised) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET record = excluded.record, state = excluded.state
                    """,
                arguments: [alarm.id, json, alarm.state.rawValue, alarm.deviation, alarm.raised])
            _ = try AuditTrail.append(
                .init(
                    user: alarm.ackedBy ?? user, action: action, object: "alarm \(alarm.id)",
                    old: old.map { AuditJSON.encode($0) }, new: json, reason: action == "alarm_acknowledged" ? alarm.ackComment : nil,
                    record: record(alarm.id)),
                db: db)
            try signature?.record(content: Data(json.utf8), db: db)
        }
    }

    /// The audit trail's name for an alarm's row.
    static func record(_ id: String) -> String { "alarm:\(id)" }

    /// What an unnamed change of an alarm was: an escalation step reached, a repeat sent.
    private static func progress(from old: AlarmRecord?, to new: AlarmRecord) -> String {
        guard let old else { return "alarm_raised" }
        if new.stepsReached > old.stepsReached { return "alarm_escalated" }
        if new.repeatsSent > old.repeatsSent { return "alarm_repeated" }
        return "alarm_updated"
    }

    static func fetch(_ id: String, db: Database) throws -> AlarmRecord? {
        try String.fetchOne(db, sql: "SELECT record FROM alarm WHERE id = ?", arguments: [id])
            .flatMap { try? AuditJSON.decode(AlarmRecord.self, $0) }
    }

    /// The alarms not yet acknowledged, and the highest number given per year: what the engine
    /// starts from.
    public static func load(_ store: ReadingStore) async throws -> (open: [AlarmRecord], highest: [Int: Int]) {
        try await store.pool.read { db in
            let open = try String.fetchAll(db, sql: "SELECT record FROM alarm WHERE state != 'acknowledged' ORDER BY raised, id")
                .compactMap { try? AuditJSON.decode(AlarmRecord.self, $0) }
            var highest: [Int: Int] = [:]
            for id in try String.fetchAll(db, sql: "SELECT id FROM alarm") {
                guard let (year, number) = AlarmID.parse(id) else { continue }
                highest[year] = max(highest[year] ?? 0, number)
            }
            return (open, highest)
        }
    }

    /// Alarms, newest first; all of them or only those not yet acknowledged.
    public static func list(_ store: ReadingStore, all: Bool, limit: Int = 200) async throws -> [AlarmRecord] {
        try await store.pool.read { db in
            let filter = all ? "" : "WHERE state != 'acknowledged'"
            return try String.fetchAll(db, sql: "SELECT record FROM alarm \(filter) ORDER BY raised DESC, id DESC LIMIT ?", arguments: [limit])
                .compactMap { try? AuditJSON.decode(AlarmRecord.self, $0) }
        }
    }

    /// Deviations not yet acknowledged (open or recovered) that no alarm names, oldest first.
    public static func deviationsWithoutAlarm(db: Database) throws -> [DeviationRecord] {
        try String.fetchAll(db, sql: """
            SELECT record FROM deviation
            WHERE state IN ('open', 'recovered') AND id NOT IN (SELECT deviation FROM alarm WHERE deviation IS NOT NULL)
            ORDER BY start, id
            """).compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
    }

    /// The alarms of a deviation.
    public static func alarms(ofDeviation id: String, db: Database) throws -> [AlarmRecord] {
        try String.fetchAll(db, sql: "SELECT record FROM alarm WHERE deviation = ? ORDER BY raised", arguments: [id])
            .compactMap { try? AuditJSON.decode(AlarmRecord.self, $0) }
    }
}
