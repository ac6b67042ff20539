import Foundation
import GRDB

/// `audit verify`'s check of the signature table against the audit trail: each row must equal
/// what its `signed` entry carries, at the position it names. A row edited, deleted (its entry
/// names a row that is gone) or added behind the daemon's back (no entry, or one carrying other
/// values) is named.
enum SignatureCheck {
    /// `latest`: each audited record's last entry; the rows checked are added to `seen`.
    static func check(
        _ db: Database, latest: [String: (seq: Int64, new: String?)], seen: inout Set<String>, _ problems: inout [String]
    ) throws -> Int {
        // A store migrated before signatures existed (read as it is) has none to check.
        guard try db.tableExists("signature") else { return 0 }
        var count = 0
        for signature in try Signer.all(db: db) {
            count += 1
            let record = "signature:\(signature.id)"
            seen.insert(record)
            let named = "signature \(signature.id) (\(signature.user) \(signature.meaning) on \(signature.subjectKind.rawValue) \(signature.subject))"
            guard let audited = latest[record] else {
                problems.append("\(named) has no audit entry (inserted behind the daemon's back)")
                continue
            }
            if audited.seq != signature.auditSeq {
                problems.append("\(named) was changed: it names audit entry \(signature.auditSeq), but entry \(audited.seq) carries it")
            } else if audited.new != AuditJSON.encode(signature.carried) {
                problems.append("\(named) was changed: it does not match audit entry \(audited.seq)")
            } else if let problem = try unlinked(signature, db: db) {
                problems.append("\(named) \(problem)")
            }
        }
        return count
    }

    /// A signature on an act recorded in the trail (all but an approval, which signs a report)
    /// follows that act's entry, whose new value hashes to the signed content: a signature copied
    /// onto another record (row and entry alike) does not.
    static func unlinked(_ signature: Signature, db: Database) throws -> String? {
        guard signature.action != .approve else { return nil }
        let act = try Row.fetchOne(
            db, sql: "SELECT seq, object, new FROM audit WHERE seq = ?", arguments: [signature.auditSeq - 1])
        let object: String? = act?["object"]
        let new: String? = act?["new"]
        guard object == signature.subjectRef.object, let new,
            SignatureGrant.sha256(Data(new.utf8)) == signature.contentSHA256
        else {
            return "is not linked to its record: audit entry \(signature.auditSeq - 1) before it is not the act it signs (copied onto another record?)"
        }
        return nil
    }
}
