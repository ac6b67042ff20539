import Crypto
import Foundation
import GRDB

/// Electronic signatures (21 CFR Part 11, EU GMP Annex 11): re-authenticates the signer through
/// PAM and gives a `SignatureGrant`, which the act being signed writes into its own transaction.
///
/// The signer is always the user the kernel names for the control socket's peer (SO_PEERCRED):
/// callers pass that name, never one a request carries. The password is used for the PAM check
/// and dropped: it is never stored, audited or logged. Each failure is audited; `lockout`
/// failures within its window lock signing for that user (audited), and while it is locked no
/// password is checked.
public final class Signer: Sendable {
    let store: ReadingStore
    private let passwords: PasswordCheckPool
    private let attempts: SigningAttempts
    private let now: @Sendable () -> Date

    public init(
        store: ReadingStore, checker: any PasswordChecker = PAMPasswordChecker(), lockout: SigningLockout = .init(),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.store = store
        passwords = PasswordCheckPool(checker: checker)
        attempts = SigningAttempts(policy: lockout)
        self.now = now
        restoreAttempts()
    }

    /// A lock and the failures towards it outlive the daemon's restarts and reloads: they are
    /// read back from the audit trail (a store that cannot be read starts with none).
    private func restoreAttempts() {
        let since = Int64((now().timeIntervalSince1970 - lockout.window - lockout.duration) * 1000)
        let rows = (try? store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT user, action, reason, time FROM audit
                WHERE time >= ? AND action IN ('signature_failed', 'signed') ORDER BY seq
                """, arguments: [since])
        }) ?? []
        attempts.replay(rows.map { row in
            (row["user"], row["action"], row["reason"], Date(timeIntervalSince1970: Double(row["time"] as Int64) / 1000))
        })
    }

    public var lockout: SigningLockout { attempts.policy }

    /// Checks `password` for `user` (the peer's kernel name) before `user` signs `action` on
    /// `subject`. A refusal is audited (`signature_failed`, and `signing_locked` when it locks
    /// signing) before it is thrown.
    public func authenticate(
        user: String, password: String, for action: SignedAction, on subject: SignatureSubject
    ) async throws(SignatureError) -> SignatureGrant {
        if let until = attempts.lockedUntil(user, now: now()) {
            await audit(user, "signature_failed", subject, action, reason: "signing is locked until \(UTCTime.format(until))")
            throw .locked(user: user, until: until)
        }
        let (verdict, fullName) = await passwords.check(user: user, password: password)
        switch verdict {
        case .accepted:
            attempts.succeed(user)
            return SignatureGrant(user: user, fullName: fullName, action: action, subject: subject)
        case .refused:
            let (count, locked) = attempts.fail(user, now: now())
            await audit(
                user, "signature_failed", subject, action,
                reason: "\(SigningAttempts.passwordRefused) (\(count) of \(lockout.failures) within \(Self.minutes(lockout.window)))")
            if let locked {
                await audit(
                    user, "signing_locked", subject, action,
                    reason: "\(lockout.failures) failed signatures within \(Self.minutes(lockout.window)): signing locked for \(user) until \(UTCTime.format(locked))")
                throw .locked(user: user, until: locked)
            }
            throw .refused(user: user)
        case let .denied(reason):
            await audit(user, "signature_failed", subject, action, reason: "account may not sign: \(reason)")
            throw .denied(user: user, reason: reason)
        case let .unavailable(reason):
            await audit(user, "signature_failed", subject, action, reason: "passwords cannot be checked: \(reason)")
            throw .unavailable(reason)
        }
    }

    /// The signatures on a subject, oldest first.
    public static func signatures(on subject: SignatureSubject, db: Database) throws -> [Signature] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM signature WHERE subject_kind = ? AND subject = ? ORDER BY id",
            arguments: [subject.kind.rawValue, subject.id]
        ).map(Signature.init(row:))
    }

    /// The signatures belonging to a lot (on the lot itself and on its deviations' acts that
    /// named it), oldest first.
    public static func signatures(ofLot lot: String, db: Database) throws -> [Signature] {
        try Row.fetchAll(db, sql: "SELECT * FROM signature WHERE lot = ? ORDER BY id", arguments: [lot])
            .map(Signature.init(row:))
    }

    public static func all(db: Database) throws -> [Signature] {
        try Row.fetchAll(db, sql: "SELECT * FROM signature ORDER BY id").map(Signature.init(row:))
    }

    private func audit(_ user: String, _ what: String, _ subject: SignatureSubject, _ action: SignedAction, reason: String) async {
        let draft = AuditEntry.Draft(
            user: user, action: what, object: subject.object,
            new: AuditJSON.encode(["action": action.rawValue, "meaning": action.meaning]), reason: reason)
        // A store that cannot be written now does not turn a refusal into an acceptance.
        _ = try? await store.pool.write { db in try AuditTrail.append(draft, db: db) }
    }

    private static func minutes(_ interval: TimeInterval) -> String {
        interval >= 60 ? "\(Int(interval / 60)) min" : "\(Int(interval)) s"
    }
}

/// A signer re-authenticated for one act on one subject: written with `record` inside the
/// transaction of the act it signs, so the act, its signature and the signature's audit entry
/// are committed together or not at all.
public struct SignatureGrant: Sendable {
    public let user: String
    public let fullName: String
    public let action: SignedAction
    public let subject: SignatureSubject

    package init(user: String, fullName: String, action: SignedAction, subject: SignatureSubject) {
        self.user = user
        self.fullName = fullName
        self.action = action
        self.subject = subject
    }

    /// Writes the signature over `content` (its SHA-256 is kept).
    @discardableResult
    public func record(content: some DataProtocol, db: Database, at time: Date = Date()) throws -> Signature {
        try record(contentSHA256: Self.sha256(content), db: db, at: time)
    }

    /// Writes the signature row and the `signed` audit entry carrying it.
    @discardableResult
    public func record(contentSHA256: String, db: Database, at time: Date = Date()) throws -> Signature {
        let id = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM signature") ?? 0) + 1
        var signature = Signature(
            id: id, signedAt: UTCTime.format(time), user: user, fullName: fullName, meaning: action.meaning,
            action: action, subjectKind: subject.kind, subject: subject.id, lot: subject.lot,
            contentSHA256: contentSHA256.lowercased(), auditSeq: 0)
        let entry = try AuditTrail.append(
            .init(
                user: user, action: "signed", object: subject.object, new: AuditJSON.encode(signature.carried),
                reason: "\(fullName) (\(user)): \(action.meaning)", record: "signature:\(id)"),
            db: db, at: time)
        signature.auditSeq = entry.seq
        try db.execute(
            sql: """
                INSERT INTO signature (id, signed_at, user, full_name, meaning, action, subject_kind, subject, lot,
                    content_sha256, audit_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, signature.signedAt, user, fullName, signature.meaning, action.rawValue, subject.kind.rawValue,
                subject.id, subject.lot, signature.contentSHA256, entry.seq,
            ])
        return signature
    }

    /// Hex SHA-256.
    public static func sha256(_ content: some DataProtocol) -> String {
        SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
    }
}
