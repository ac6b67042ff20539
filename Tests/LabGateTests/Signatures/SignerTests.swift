import Foundation
import GRDB
import Testing
import TestSupport
@testable import LabGate

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// A PAM config folder holding the shipped /etc/pam.d/labgate and the host's stacks it includes:
/// the real file checked through the host's real pam_unix and /etc/shadow.
func shippedPAMFolder(_ folder: TemporaryFolder) throws -> String {
    let path = folder.path + "/pam.d"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: root.path + "/config/pam.d/labgate", toPath: path + "/labgate")
    for included in ["common-auth", "common-account"] {
        try FileManager.default.createSymbolicLink(atPath: path + "/" + included, withDestinationPath: "/etc/pam.d/" + included)
    }
    return path
}

/// An act's audit entry on the deviation, and the signature on it (as `DeviationBook` writes them).
private func actAndSign(_ grant: SignatureGrant, db: Database) throws -> Signature {
    try AuditTrail.append(
        .init(user: grant.user, action: "deviation_acknowledged", object: grant.subject.object, new: "the record"), db: db)
    return try grant.record(content: Data("the record".utf8), db: db)
}

private func audit(_ store: ReadingStore) async throws -> [AuditEntry] {
    try AuditTrail.list(in: store)
}

@Suite("electronic signatures through PAM", .serialized)
struct SignerTests {
    @Test("the right password through the shipped PAM service gives a signature written with its audit entry and the printed name from gecos; audit verify accepts it")
    func rightPassword() async throws {
        let folder = try TemporaryFolder()
        let user = try SystemUser(fullName: "Alice Example")
        defer { user.remove() }
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: try shippedPAMFolder(folder)))
        let grant = try await signer.authenticate(
            user: user.name, password: user.password, for: .ack, on: .deviation("DEV-2026-0007"))
        #expect(grant.fullName == "Alice Example")
        let signed = try await store.pool.write { db in try actAndSign(grant, db: db) }
        let rows = try await store.pool.read { db in try Signer.signatures(on: .deviation("DEV-2026-0007"), db: db) }
        #expect(rows == [signed])
        #expect(signed.meaning == "acknowledged" && signed.user == user.name && signed.fullName == "Alice Example")
        #expect(signed.contentSHA256 == SignatureGrant.sha256(Data("the record".utf8)))
        let entry = try await audit(store).last!
        #expect(entry.seq == signed.auditSeq && entry.seq == 2 && entry.action == "signed" && entry.object == "deviation DEV-2026-0007")
        #expect(entry.reason == "Alice Example (\(user.name)): acknowledged")
        #expect(try await AuditVerifier.verify(store).problems == [])
    }

    @Test("a wrong password is refused and audited without the password; five failures lock signing (audited), and then even the right password is refused without asking PAM, also by a signer started afterwards (a restart or reload)")
    func wrongPasswordAndLockout() async throws {
        let folder = try TemporaryFolder()
        let user = try SystemUser()
        defer { user.remove() }
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let confdir = try shippedPAMFolder(folder)
        let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: confdir))
        for attempt in 1...4 {
            await #expect(throws: SignatureError.refused(user: user.name)) {
                _ = try await signer.authenticate(user: user.name, password: "wrong-\(attempt)", for: .close, on: .deviation("DEV-2026-0001"))
            }
        }
        let fifth = await #expect(throws: SignatureError.self) {
            _ = try await signer.authenticate(user: user.name, password: "wrong-5", for: .close, on: .deviation("DEV-2026-0001"))
        }
        guard case .locked(user.name, _)? = fifth else { Issue.record("not locked: \(String(describing: fifth))"); return }
        await #expect(throws: SignatureError.self) {
            _ = try await signer.authenticate(user: user.name, password: user.password, for: .close, on: .deviation("DEV-2026-0001"))
        }
        let entries = try await audit(store)
        #expect(entries.map(\.action) == Array(repeating: "signature_failed", count: 5) + ["signing_locked", "signature_failed"])
        #expect(entries.allSatisfy { $0.user == user.name && $0.object == "deviation DEV-2026-0001" })
        #expect(entries[0].reason == "password not accepted (1 of 5 within 15 min)")
        #expect(entries[5].reason?.hasPrefix("5 failed signatures within 15 min: signing locked for \(user.name) until ") == true)
        #expect(entries[6].reason?.hasPrefix("signing is locked until ") == true)
        let text = entries.map { "\($0.old ?? "") \($0.new ?? "") \($0.reason ?? "")" }.joined()
        #expect(!text.contains("wrong-") && !text.contains(user.password))
        #expect(try await store.pool.read { db in try Signer.all(db: db) } == [])
        // A restarted or reloaded daemon makes a new signer: the lock holds there too.
        let restarted = Signer(store: store, checker: PAMPasswordChecker(confdir: confdir))
        let afterRestart = await #expect(throws: SignatureError.self) {
            _ = try await restarted.authenticate(user: user.name, password: user.password, for: .close, on: .deviation("DEV-2026-0001"))
        }
        guard case .locked(user.name, _)? = afterRestart else { Issue.record("not locked after a restart: \(String(describing: afterRestart))"); return }
    }

    @Test("an unknown user is refused as a wrong password is")
    func unknownUser() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: try shippedPAMFolder(folder)))
        await #expect(throws: SignatureError.refused(user: "nosuchuser-lgt")) {
            _ = try await signer.authenticate(user: "nosuchuser-lgt", password: "x", for: .ack, on: .alarm("ALM-2026-0001"))
        }
    }

    @Test("audit verify names a signature row edited, deleted or added behind the daemon's back")
    func tampered() async throws {
        let user = try SystemUser(fullName: "Bob Example")
        defer { user.remove() }
        let cases: [(sql: String, expected: String)] = [
            ("DROP TRIGGER signature_append_only_update; UPDATE signature SET content_sha256 = 'ab' WHERE id = 1",
             "signature 1 (\(user.name) acknowledged on deviation DEV-2026-0007) was changed: it does not match audit entry 2"),
            ("DROP TRIGGER signature_append_only_delete; DELETE FROM signature WHERE id = 1",
             "signature 1 is missing (deleted): audit entry 2 recorded it"),
            ("INSERT INTO signature (signed_at, user, full_name, meaning, action, subject_kind, subject, lot, content_sha256, audit_seq) SELECT signed_at, user, full_name, meaning, action, 'deviation', 'DEV-2026-0009', NULL, content_sha256, audit_seq FROM signature WHERE id = 1",
             "signature 2 (\(user.name) acknowledged on deviation DEV-2026-0009) has no audit entry (inserted behind the daemon's back)"),
        ]
        for (sql, expected) in cases {
            let folder = try TemporaryFolder()
            let store = try ReadingStore(path: folder.path + "/store.sqlite")
            let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: try shippedPAMFolder(folder)))
            let grant = try await signer.authenticate(user: user.name, password: user.password, for: .ack, on: .deviation("DEV-2026-0007"))
            try await store.pool.write { db in _ = try actAndSign(grant, db: db) }
            try await store.pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
            let problems = try await AuditVerifier.verify(store).problems
            #expect(problems.contains(expected), "\(sql): \(problems)")
        }
    }

    @Test("a user who corrected a lot cannot approve it with separate duties on (before the password is checked); another user can, over the lot record's hash")
    func approvalSeparateDuties() async throws {
        let folder = try TemporaryFolder()
        let qa = try SystemUser(fullName: "Quinn QA")
        defer { qa.remove() }
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO lot_event (lot, action, device, spec, time, user, note) VALUES ('LOT-1', 'start', 'INC-01', 'S', 1, 'op', NULL);
                INSERT INTO lot_event (lot, action, device, spec, time, user, note, corrects) VALUES ('LOT-1', 'correct', 'INC-02', NULL, 2, 'carol', 'wrong incubator', 1);
                """)
        }
        let writer = ReadingWriter(store: store, batchSize: 1)
        try await writer.append([
            Reading(device: "INC-02", channel: "temperature", time: Date(timeIntervalSince1970: 1), value: 37, quality: .good, lots: ["LOT-1"])
        ])
        try await writer.flush()
        let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: try shippedPAMFolder(folder)))
        await #expect(throws: SignatureError.approverCorrected(lot: "LOT-1", user: "carol")) {
            _ = try await LotApprover.approve(lot: "LOT-1", user: "carol", password: "x", signer: signer, separateDuties: true)
        }
        // Refused before PAM was asked: no failed signature is counted.
        #expect(try await audit(store).filter { $0.action.hasPrefix("signature_") }.isEmpty)
        let (approval, state) = try await LotApprover.approve(
            lot: "LOT-1", user: qa.name, password: qa.password, signer: signer, separateDuties: true)
        #expect(approval.meaning == "approved for batch release" && approval.lot == "LOT-1" && approval.subjectKind == .lot)
        let digest = try await store.pool.read { db in try LotRecordDigest.compute(lot: "LOT-1", through: 1001, db: db) }
        #expect(digest.series.map(\.readings) == [1] && approval.contentSHA256 == digest.sha256 && state.state == .approved)
        #expect(try await store.pool.read { db in try Signer.signatures(ofLot: "LOT-1", db: db) } == [approval])
    }
}
