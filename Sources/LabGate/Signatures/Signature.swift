import Foundation
import GRDB

/// One electronic signature as the `signature` table keeps it: who signed (the kernel's user name
/// and the printed name from the passwd entry), when (UTC), what it means, what it is on, the
/// SHA-256 of the content signed and the audit entry that carries it. The content hash and the
/// audit position link it to its record (21 CFR 11.70): the same row on another record, or on
/// this record changed, no longer matches.
public struct Signature: Sendable, Hashable, Codable {
    public var id: Int64
    /// UTC, ISO 8601 with milliseconds (`UTCTime`).
    public var signedAt: String
    public var user: String
    public var fullName: String
    public var meaning: String
    public var action: SignedAction
    public var subjectKind: SignatureSubject.Kind
    public var subject: String
    /// The lot, for a lot's acts (correct, approve); NULL for a deviation's or an alarm's, which
    /// may concern several lots (the deviation record names them).
    public var lot: String?
    /// Hex.
    public var contentSHA256: String
    /// The seq of the audit entry (`signed`) carrying this signature.
    public var auditSeq: Int64

    enum CodingKeys: String, CodingKey {
        case id
        case signedAt = "signed_at"
        case user
        case fullName = "full_name"
        case meaning, action
        case subjectKind = "subject_kind"
        case subject, lot
        case contentSHA256 = "content_sha256"
        case auditSeq = "audit_seq"
    }

    public var subjectRef: SignatureSubject { SignatureSubject(kind: subjectKind, id: subject, lot: lot) }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, auditPosition: true)
    }

    /// With or without `audit_seq`, under the one set of keys.
    private func encode(to encoder: any Encoder, auditPosition: Bool) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(signedAt, forKey: .signedAt)
        try container.encode(user, forKey: .user)
        try container.encode(fullName, forKey: .fullName)
        try container.encode(meaning, forKey: .meaning)
        try container.encode(action, forKey: .action)
        try container.encode(subjectKind, forKey: .subjectKind)
        try container.encode(subject, forKey: .subject)
        try container.encodeIfPresent(lot, forKey: .lot)
        try container.encode(contentSHA256, forKey: .contentSHA256)
        if auditPosition { try container.encode(auditSeq, forKey: .auditSeq) }
    }

    /// What the `signed` audit entry carries as its new value: every column but the audit
    /// position, which is the entry's own.
    var carried: Carried { Carried(signature: self) }

    struct Carried: Codable {
        var signature: Signature

        init(signature: Signature) { self.signature = signature }

        func encode(to encoder: any Encoder) throws { try signature.encode(to: encoder, auditPosition: false) }

        /// Read back from an audit entry: the audit position is the entry's own, set by the reader.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            signature = Signature(
                id: try container.decode(Int64.self, forKey: .id),
                signedAt: try container.decode(String.self, forKey: .signedAt),
                user: try container.decode(String.self, forKey: .user),
                fullName: try container.decode(String.self, forKey: .fullName),
                meaning: try container.decode(String.self, forKey: .meaning),
                action: try container.decode(SignedAction.self, forKey: .action),
                subjectKind: try container.decode(SignatureSubject.Kind.self, forKey: .subjectKind),
                subject: try container.decode(String.self, forKey: .subject),
                lot: try container.decodeIfPresent(String.self, forKey: .lot),
                contentSHA256: try container.decode(String.self, forKey: .contentSHA256),
                auditSeq: 0)
        }
    }

    init(row: Row) {
        id = row["id"]
        signedAt = row["signed_at"]
        user = row["user"]
        fullName = row["full_name"]
        meaning = row["meaning"]
        let actionText: String = row["action"]
        action = SignedAction(rawValue: actionText) ?? .ack
        let kindText: String = row["subject_kind"]
        subjectKind = SignatureSubject.Kind(rawValue: kindText) ?? .deviation
        subject = row["subject"]
        lot = row["lot"]
        contentSHA256 = row["content_sha256"]
        auditSeq = row["audit_seq"]
    }

    init(
        id: Int64, signedAt: String, user: String, fullName: String, meaning: String, action: SignedAction,
        subjectKind: SignatureSubject.Kind, subject: String, lot: String?, contentSHA256: String, auditSeq: Int64
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
}
