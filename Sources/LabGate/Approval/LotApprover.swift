import Foundation
import GRDB

/// QA's approval of a lot's record for batch release: the daemon hashes the record as it stands
/// from the store (`LotRecordDigest`; the client sends no hash), re-authenticates the approver
/// (`Signer`), and writes, in one transaction, the audit entry recording the span the approval
/// covers (`lot_approved`, with the hash) and right after it the signature "approved for batch
/// release" over that hash. With `separateDuties`, a user who corrected the lot may not approve it.
///
/// The hash is computed in a read, not in the writing transaction (`LotRecordSnapshot`): the
/// write only checks that nothing it covers changed since, and when something did, the record is
/// hashed again (up to `attempts` times) before the approval is refused.
public enum LotApprover {
    public struct NothingToApprove: Error, CustomStringConvertible {
        public var lot: String
        public var description: String { "lot \(lot) has no readings yet: there is no record to approve" }
    }

    /// The record kept changing between its hash and the approval's write: nothing was signed.
    public struct RecordChanged: Error, CustomStringConvertible {
        public var lot: String
        public var attempts: Int
        /// What changed the last time.
        public var change: String
        public var description: String {
            "lot \(lot)'s record changed while it was hashed for the approval (\(change); \(attempts) times): nothing was signed, approve again"
        }
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
        return try await write(lot: lot, grant: grant, store: signer.store, separateDuties: separateDuties)
    }

    /// Hashes the lot's record in a read and writes the approval over it, once the writing
    /// transaction has found that nothing the hash covers changed since. `hashing` is called
    /// before each series is hashed (tests hold it there).
    package static func write(
        lot: String, grant: SignatureGrant, store: ReadingStore, separateDuties: Bool = false, attempts: Int = 3,
        hashing: (@Sendable (LotRecordDigest.Series) -> Void)? = nil
    ) async throws -> (signature: Signature, approval: LotApproval) {
        var change = ""
        for _ in 0..<max(attempts, 1) {
            let snapshot = try await store.pool.read { db in try LotRecordSnapshot.read(lot: lot, db: db, hashing: hashing) }
            guard let snapshot else { throw NothingToApprove(lot: lot) }
            let outcome = try await store.pool.write { db -> Outcome in
                try SeparationOfDuties.checkApproval(lot: lot, approver: grant.user, enforced: separateDuties, db: db)
                if let changed = try snapshot.change(lot: lot, db: db) { return .changed(changed) }
                let (signature, approval) = try record(snapshot.digest, grant: grant, db: db)
                return .written(signature, approval)
            }
            switch outcome {
            case let .written(signature, approval): return (signature, approval)
            case let .changed(changed): change = changed
            }
        }
        throw RecordChanged(lot: lot, attempts: max(attempts, 1), change: change)
    }

    private enum Outcome: Sendable {
        case written(Signature, LotApproval)
        case changed(String)
    }

    /// Writes the approval over `digest` (inside the caller's write transaction, once it is known
    /// to be the record as it stands).
    private static func record(
        _ digest: LotRecordDigest, grant: SignatureGrant, db: Database
    ) throws -> (signature: Signature, approval: LotApproval) {
        try AuditTrail.append(
            .init(
                user: grant.user, action: LotApproval.auditAction, object: "lot \(digest.lot)",
                new: AuditJSON.encode(LotApproval.Covered(digest)),
                reason: "record through \(UTCTime.format(milliseconds: digest.through))"),
            db: db)
        let signature = try grant.record(contentSHA256: digest.sha256, db: db)
        let approval = LotApproval(
            state: .approved, signature: signature, through: UTCTime.format(milliseconds: digest.through),
            approvedSHA256: digest.sha256, currentSHA256: digest.sha256, changes: [])
        return (signature, approval)
    }
}
