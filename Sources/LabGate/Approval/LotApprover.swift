import Foundation
import GRDB

/// QA's approval of a lot's record for batch release: the daemon hashes the record as it stands
/// from the store (`LotRecordDigest`; the client sends no hash), re-authenticates the approver
/// (`Signer`), and writes, in one transaction, the audit entry recording the span the approval
/// covers (`lot_approved`, with the hash) and right after it the signature "approved for batch
/// release" over that hash. With `separateDuties`, a user who corrected the lot may not approve it.
public enum LotApprover {
    public struct NothingToApprove: Error, CustomStringConvertible {
        public var lot: String
        public var description: String { "lot \(lot) has no readings yet: there is no record to approve" }
    }

    public static func approve(
        lot: String, user: String, password: String, signer: Signer, separateDuties: Bool
    ) async throws -> (signature: Signature, approval: LotApproval) {
        // Refused before the password is checked, and again where the approval is written.
        try await signer.store.pool.read { db in
            try SeparationOfDuties.checkApproval(lot: lot, approver: user, enforced: separateDuties, db: db)
            guard try LotRecordDigest.approvalEnd(lot: lot, db: db) != nil else { throw NothingToApprove(lot: lot) }
        }
        let grant = try await signer.authenticate(user: user, password: password, for: .approve, on: .lot(lot))
        return try await signer.store.pool.write { db in
            try SeparationOfDuties.checkApproval(lot: lot, approver: user, enforced: separateDuties, db: db)
            return try record(lot: lot, grant: grant, db: db)
        }
    }

    /// Hashes the lot's record as it stands and writes the approval over it (inside the caller's
    /// write transaction, so nothing is stored between the hash and the signature).
    package static func record(lot: String, grant: SignatureGrant, db: Database) throws -> (signature: Signature, approval: LotApproval) {
        guard let through = try LotRecordDigest.approvalEnd(lot: lot, db: db) else { throw NothingToApprove(lot: lot) }
        let digest = try LotRecordDigest.compute(lot: lot, through: through, db: db)
        try AuditTrail.append(
            .init(
                user: grant.user, action: LotApproval.auditAction, object: "lot \(lot)",
                new: AuditJSON.encode(LotApproval.Covered(digest)),
                reason: "record through \(UTCTime.format(milliseconds: through))"),
            db: db)
        let signature = try grant.record(contentSHA256: digest.sha256, db: db)
        let approval = LotApproval(
            state: .approved, signature: signature, through: UTCTime.format(milliseconds: through),
            approvedSHA256: digest.sha256, currentSHA256: digest.sha256, changes: [])
        return (signature, approval)
    }
}
