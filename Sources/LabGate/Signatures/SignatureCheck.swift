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

    /// A signature follows the entry of what it signs: an act, whose new value hashes to the
    /// signed content, or an approval's `lot_approved`, which carries the record hash the approval
    /// signed. A signature copied onto another record (row and entry alike) does not.
    static func unlinked(_ signature: Signature, db: Database) throws -> String? {
        let act = try Row.fetchOne(
            db, sql: "SELECT seq, action, object, new FROM audit WHERE seq = ?", arguments: [signature.auditSeq - 1])
        let object: String? = act?["object"]
        let new: String? = act?["new"]
        let linked: Bool
        if signature.action == .approve {
            let covered = new.flatMap { try? JSONDecoder().decode(LotApproval.Covered.self, from: Data($0.utf8)) }
            linked = act?["action"] == LotApproval.auditAction && covered?.sha256 == signature.contentSHA256
        } else {
            linked = new.map { SignatureGrant.sha256(Data($0.utf8)) == signature.contentSHA256 } ?? false
        }
        guard object == signature.subjectRef.object, linked else {
            return "is not linked to its record: audit entry \(signature.auditSeq - 1) before it is not the act it signs (copied onto another record?)"
        }
        return nil
    }
}
