import Foundation
import GRDB
import Testing
@testable import LabGate

/// The signature table as the store keeps it (created by the signing core's migration where it ran).
func sign(
    _ store: ReadingStore, user: String, fullName: String, meaning: String, action: String, kind: String, subject: String,
    lot: String?, sha256: String
) async throws {
    try await store.pool.write { db in
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS signature (id INTEGER PRIMARY KEY, signed_at TEXT NOT NULL, user TEXT NOT NULL,
            full_name TEXT NOT NULL, meaning TEXT NOT NULL, action TEXT NOT NULL, subject_kind TEXT NOT NULL,
            subject TEXT NOT NULL, lot TEXT, content_sha256 TEXT NOT NULL, audit_seq INTEGER NOT NULL)
            """)
        let entry = try AuditTrail.append(.init(user: user, action: "signed", object: "\(kind) \(subject)", new: "{}"), db: db)
        try db.execute(
            sql: """
                INSERT INTO signature (signed_at, user, full_name, meaning, action, subject_kind, subject, lot, content_sha256, audit_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [UTCTime.format(entry.time), user, fullName, meaning, action, kind, subject, lot, sha256, entry.seq])
    }
}

/// QA's approval as `lot approve` records it: the lot's record hashed and the span it covered.
func approve(_ store: ReadingStore, lot: String, user: String, fullName: String) async throws {
    let digest = try await store.pool.read { db in
        try LotRecordDigest.compute(lot: lot, through: try #require(try LotRecordDigest.approvalEnd(lot: lot, db: db)), db: db)
    }
    try await store.pool.write { db in
        _ = try AuditTrail.append(
            .init(user: user, action: LotApproval.auditAction, object: "lot \(lot)", new: AuditJSON.encode(LotApproval.Covered(digest))), db: db)
    }
    try await sign(store, user: user, fullName: fullName, meaning: "approved for batch release", action: "approve", kind: "lot", subject: lot, lot: lot, sha256: digest.sha256)
}

