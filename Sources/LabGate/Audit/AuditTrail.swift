import Foundation
import GRDB

/// Appends to and reads the audit trail. `append` runs inside the caller's write transaction, so
/// an entry is committed together with the change it records, or not at all.
public enum AuditTrail {
    @discardableResult
    package static func append(_ draft: AuditEntry.Draft, db: Database, at time: Date = Date()) throws -> AuditEntry {
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (head?[0] ?? 0) + 1
        let prev: String = head?[1] ?? FieldDigest.zero
        let ms = time.millisecondsSince1970
        let hash = AuditEntry.hash(
            seq: seq, time: ms, user: draft.user, action: draft.action, object: draft.object, old: draft.old,
            new: draft.new, reason: draft.reason, record: draft.record, prev: prev)
        try db.execute(
            sql: """
                INSERT INTO audit (seq, time, user, action, object, old, new, reason, record, prev, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                seq, ms, draft.user, draft.action, draft.object, draft.old, draft.new, draft.reason, draft.record,
                prev, hash,
            ])
        return AuditEntry(
            seq: seq, time: Date(millisecondsSince1970: ms), user: draft.user, action: draft.action,
            object: draft.object, old: draft.old, new: draft.new, reason: draft.reason, record: draft.record,
            prev: prev, hash: hash)
    }

    /// Appends one entry in its own transaction.
    @discardableResult
    public static func append(_ draft: AuditEntry.Draft, to store: ReadingStore) throws -> AuditEntry {
        try store.pool.write { db in try append(draft, db: db) }
    }

    package static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(
            seq: row["seq"], time: Date(millisecondsSince1970: row["time"]), user: row["user"], action: row["action"],
            object: row["object"], old: row["old"], new: row["new"], reason: row["reason"], record: row["record"],
            prev: row["prev"], hash: row["hash"])
    }

    /// Entries oldest first; `object` matches the whole object name or its id alone
    /// (`lot MSC-AT-0042` or `MSC-AT-0042`).
    public static func list(
        in store: ReadingStore, since: Date? = nil, object: String? = nil, limit: Int? = nil
    ) throws -> [AuditEntry] {
        try store.pool.read { db in try list(db: db, since: since, object: object, limit: limit) }
    }

    package static func list(db: Database, since: Date?, object: String?, limit: Int?) throws -> [AuditEntry] {
        do {
            var sql = "SELECT * FROM audit WHERE 1 = 1"
            var arguments: [any DatabaseValueConvertible] = []
            if let since {
                sql += " AND time >= ?"
                arguments.append(since.millisecondsSince1970)
            }
            if let object {
                sql += " AND (object = ? OR object LIKE ?)"
                arguments += [object, "% " + object]
            }
            sql += " ORDER BY seq"
            if let limit { sql = "SELECT * FROM (\(sql.replacingOccurrences(of: "ORDER BY seq", with: "ORDER BY seq DESC")) LIMIT \(limit)) ORDER BY seq" }
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(entry)
        }
    }
}
