import Foundation
import GRDB

/// One electronic signature as people are shown it (21 CFR 11.50): the signer's printed name and
/// user, when (UTC), what the signature means, and what it was linked to (the SHA-256 of the
/// signed content, the audit entry that records it). Read from the `signature` table; a store
/// written before signatures has none.
public struct SignatureManifestation: Sendable, Codable, Hashable {
    public var id: Int64
    /// UTC ISO 8601 with milliseconds, as stored.
    public var signedAt: String
    public var user: String
    /// The signer's full name (NSS gecos) when signing.
    public var fullName: String
    /// 'acknowledged', 'QA reviewed, impact assessed', 'corrected', 'approved for batch release'.
    public var meaning: String
    /// ack, close, correct, approve.
    public var action: String
    /// deviation, alarm, lot.
    public var subjectKind: String
    public var subject: String
    public var lot: String?
    public var contentSHA256: String
    public var auditSeq: Int64

    public init(
        id: Int64, signedAt: String, user: String, fullName: String, meaning: String, action: String,
        subjectKind: String, subject: String, lot: String?, contentSHA256: String, auditSeq: Int64
    ) {
        self.id = id
        self.signedAt = signedAt
        self.user = user
        self.fullName = fullName
        self.meaning = meaning
        self.action = action
        self.subjectKind = subjectKind
        self.subject = subject
        self.lot = lot
        self.contentSHA256 = contentSHA256
        self.auditSeq = auditSeq
    }

    /// "Alice Smith (alice)", or the user alone when NSS had no full name.
    public var printedName: String {
        fullName.isEmpty || fullName == user ? user : "\(fullName) (\(user))"
    }

    /// "Alice Smith (alice), 2026-11-30T10:02:03.120Z: acknowledged".
    public var manifestation: String { "\(printedName), \(signedAt): \(meaning)" }

    private static let columns =
        "id, signed_at, user, full_name, meaning, action, subject_kind, subject, lot, content_sha256, audit_seq"

    private static func row(_ row: Row) -> SignatureManifestation {
        SignatureManifestation(
            id: row[0], signedAt: row[1], user: row[2], fullName: row[3], meaning: row[4], action: row[5],
            subjectKind: row[6], subject: row[7], lot: row[8], contentSHA256: row[9], auditSeq: row[10])
    }

    /// The signatures on some subjects of one kind, in the order they were made.
    public static func on(_ kind: String, _ subjects: [String], db: Database) throws -> [SignatureManifestation] {
        guard !subjects.isEmpty, try db.tableExists("signature") else { return [] }
        let marks = Array(repeating: "?", count: subjects.count).joined(separator: ",")
        return try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM signature WHERE subject_kind = ? AND subject IN (\(marks)) ORDER BY id",
            arguments: StatementArguments([kind] + subjects)
        ).map(row)
    }

    /// Every signature that belongs to a lot's record, the deviations naming it read from the store.
    public static func ofLot(_ lot: String, db: Database) throws -> [SignatureManifestation] {
        let deviations = try String.fetchAll(db, sql: "SELECT record FROM deviation")
            .compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
            .filter { $0.lots.contains(lot) }.map(\.id)
        return try ofLot(lot, deviations: deviations, db: db)
    }

    /// Every signature that belongs to a lot's record: on the lot itself, on the deviations
    /// naming it, and any other that names the lot (an alarm's acknowledgement, a correction).
    public static func ofLot(_ lot: String, deviations: [String], db: Database) throws -> [SignatureManifestation] {
        guard try db.tableExists("signature") else { return [] }
        let marks = Array(repeating: "?", count: deviations.count).joined(separator: ",")
        let naming = deviations.isEmpty ? "" : " OR (subject_kind = 'deviation' AND subject IN (\(marks)))"
        return try Row.fetchAll(
            db,
            sql: "SELECT \(columns) FROM signature WHERE lot = ? OR (subject_kind = 'lot' AND subject = ?)\(naming) ORDER BY id",
            arguments: StatementArguments([lot, lot] + deviations)
        ).map(row)
    }
}
