import Foundation

extension AuditEntry {
    /// An entry read elsewhere than a local store (the site store's copy of a gateway's trail).
    package static func row(
        seq: Int64, time: Date, user: String, action: String, object: String, old: String?, new: String?,
        reason: String?, record: String?, prev: String, hash: String
    ) -> AuditEntry {
        AuditEntry(
            seq: seq, time: time, user: user, action: action, object: object, old: old, new: new, reason: reason,
            record: record, prev: prev, hash: hash)
    }
}
