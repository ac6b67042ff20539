import Foundation
import GRDB
import Synchronization
import Testing
import TestSupport
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

/// Accepts one password per user, and remembers whom it was asked about.
final class KnownPasswords: PasswordChecker {
    let passwords: [String: String]
    private let asked = Mutex<[String]>([])

    init(_ passwords: [String: String]) { self.passwords = passwords }

    var users: [String] { asked.withLock { $0 } }

    func check(user: String, password: String) -> PasswordVerdict {
        asked.withLock { $0.append(user) }
        return passwords[user] == password ? .accepted : .refused
    }
}

@Suite("signed acts on the control socket", .serialized)
struct SignedActsTests {
    @Test("an act the config requires a signature for is answered 401 without a password, and nothing changes; with one, the peer's user (not a name in the request) signs the acknowledgement and the closure, each over its record")
    func signedAckAndClose() async throws {
        let passwords = KnownPasswords(["alice": "a-secret", "carol": "c-secret"])
        let server = try await RunningServer(
            signatures: SignatureSettings(require: [.ack, .close, .correct]), passwords: passwords)
        let client = server.client
        let id = try await recoveredDeviation(in: server)

        let unsigned = try await client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "door left open"))
        #expect(unsigned.status == 401)
        #expect(unsigned.message == "ack needs an electronic signature (acknowledged): give your password")
        #expect(try await client.get("/deviations/\(id)").decode(ControlAPI.DeviationView.self).state == "recovered")

        // carol's password sent by alice's process: checked as alice's, so refused.
        let borrowed = try await client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "door left open", password: "c-secret"))
        #expect(borrowed.status == 403)
        #expect(borrowed.message == "signature refused: the password of alice was not accepted")

        let acked = try await client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "door left open", password: "a-secret"))
        #expect(acked.status == 200, "\(acked.message)")
        server.identity.set("carol", ["lab-qa"])
        let closed = try await client.post("/deviations/\(id)/close", ControlAPI.Close(impact: "none", password: "c-secret"))
        #expect(closed.status == 200, "\(closed.message)")
        #expect(passwords.users == ["alice", "alice", "carol"])

        let (signatures, record) = try await server.store.pool.read { db in
            (try Signer.signatures(on: .deviation(id), db: db), try DeviationBook.fetch(id, db: db))
        }
        #expect(signatures.map(\.user) == ["alice", "carol"])
        #expect(signatures.map(\.meaning) == ["acknowledged", "QA reviewed, impact assessed"])
        #expect(signatures.last?.contentSHA256 == SignatureGrant.sha256(Data(AuditJSON.encode(record!).utf8)))
        let report = try await client.get("/audit/verify").decode(AuditVerifier.Report.self)
        #expect(report.ok && report.signatures == 2, "\(report.problems)")
        await server.stop()
    }

    @Test("a signature moved onto another deviation's act (row and entry rewritten alike) is named by audit verify")
    func copiedSignature() async throws {
        let passwords = KnownPasswords(["alice": "a-secret"])
        let server = try await RunningServer(signatures: SignatureSettings(require: [.ack]), passwords: passwords)
        let id = try await recoveredDeviation(in: server)
        let acked = try await server.client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "seen", password: "a-secret"))
        #expect(acked.status == 200, "\(acked.message)")
        // Someone rewrites the signature to be on DEV-2027-0009, consistently in the row and its
        // carrying entry (and re-hashes nothing: the chain is not what this checks).
        try await server.store.pool.writeWithoutTransaction { db in
            try db.execute(sql: """
                DROP TRIGGER signature_append_only_update; DROP TRIGGER audit_append_only_update;
                UPDATE signature SET subject = 'DEV-2027-0009';
                UPDATE audit SET object = 'deviation DEV-2027-0009', new = replace(new, '\(id)', 'DEV-2027-0009') WHERE action = 'signed';
                """)
        }
        let problems = try await AuditVerifier.verify(server.store).problems
        #expect(problems.contains { $0.hasPrefix("signature 1 (alice acknowledged on deviation DEV-2027-0009) is not linked to its record") }, "\(problems)")
        await server.stop()
    }
}

@Suite("signed alarm acknowledgement")
struct SignedAlarmTests {
    @Test("an alarm's acknowledgement saved with a signature writes it right after the alarm's entry, over the alarm's record, and audit verify links them")
    func signedAlarmAck() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let event = AlertEvent(time: Date(timeIntervalSince1970: 1_800_000_000), severity: .critical, event: .deviceUnreachable, device: "FRZ-01")
        let raised = AlarmRecord(
            id: "ALM-2027-0001", event: event, raised: 1_800_000_000_000, notify: ["ops"], repeat: nil, escalate: [], until: .acknowledged)
        try await store.pool.write { db in try AlarmBook.save(raised, audit: "alarm_raised", user: "labgate").write(db) }
        var alarm = raised
        let signer = Signer(store: store, checker: KnownPasswords(["erin": "e-secret"]))
        let grant = try await signer.authenticate(user: "erin", password: "e-secret", for: .ack, on: .alarm(alarm.id))
        alarm.ackedAt = 1_800_000_060_000
        alarm.ackedBy = "erin"
        alarm.ackComment = "freezer door closed"
        let acked = alarm
        try await store.pool.write { db in
            try AlarmBook.save(acked, audit: "alarm_acknowledged", user: "labgate", signature: grant).write(db)
        }
        let trail = try AuditTrail.list(in: store)
        #expect(trail.map(\.action) == ["alarm_raised", "alarm_acknowledged", "signed"])
        let signature = try #require(try await store.pool.read { db in try Signer.signatures(on: .alarm(acked.id), db: db) }.first)
        #expect(signature.user == "erin" && signature.meaning == "acknowledged" && signature.auditSeq == 3 && signature.lot == nil)
        #expect(signature.contentSHA256 == SignatureGrant.sha256(Data(AuditJSON.encode(alarm).utf8)))
        let report = try await AuditVerifier.verify(store)
        #expect(report.ok && report.signatures == 1, "\(report.problems)")
    }
}
