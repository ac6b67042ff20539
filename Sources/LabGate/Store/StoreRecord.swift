import Foundation
import GRDB

/// Something the daemon records besides readings (a deviation change, the deviation engine's
/// state, an audit entry of its own), handed to `ReadingWriter` to be committed in order with the
/// readings: held in memory with them while the store cannot be written, and retried with them.
/// Nothing that alerts waits for it; what was alerted is already decided.
public struct StoreRecord: Sendable {
    /// What it is, for the audit trail and the journal if it has to be dropped or cannot be
    /// written before the daemon stops (e.g. "deviation_opened DEV-2026-0007 INC-02 co2").
    public let summary: String
    /// A record with a key replaces one with the same key still waiting (a state of which only
    /// the latest counts); nil for records that each count.
    public let key: String?
    let write: @Sendable (Database) throws -> Void

    package init(summary: String, key: String? = nil, write: @escaping @Sendable (Database) throws -> Void) {
        self.summary = summary
        self.key = key
        self.write = write
    }

    /// An audit entry stamped with the time of the event it records, not of its commit.
    public static func audit(_ draft: AuditEntry.Draft, at time: Date = Date()) -> StoreRecord {
        StoreRecord(summary: "\(draft.action) \(draft.object)") { db in
            _ = try AuditTrail.append(draft, db: db, at: time)
        }
    }

    /// An audit entry whose `new` is `fields` with the head of the reading seals when it is
    /// written: the readings held before it are committed before it, so the head it records is the
    /// one that follows them (`daemon_started`, `daemon_stopped`: see `SealAnchor`).
    package static func anchoredAudit(
        user: String, action: String, object: String, fields: SealAnchor, at time: Date = Date()
    ) -> StoreRecord {
        StoreRecord(summary: "\(action) \(object)") { db in
            let head = try ReadingSeal.head(db: db)
            var fields = fields
            fields.seal = head.id
            fields.sealHash = head.hash
            let draft = AuditEntry.Draft(user: user, action: action, object: object, new: AuditJSON.encode(fields))
            _ = try AuditTrail.append(draft, db: db, at: time)
        }
    }
}
