import Foundation
import Glibc
import LabGate
import Testing
import TestSupport

private let isRoot = geteuid() == 0
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The shipped PAM service, installed as scripts/install does when the host has none yet; the
/// returned closure removes it again if this made it.
func installPAMService() throws -> () -> Void {
    let path = "/etc/pam.d/labgate"
    guard !FileManager.default.fileExists(atPath: path) else { return {} }
    try FileManager.default.copyItem(atPath: root.path + "/config/pam.d/labgate", toPath: path)
    return { try? FileManager.default.removeItem(atPath: path) }
}

extension Harness {
    /// The CLI run as `user` (setpriv: its own uid, gid and groups, so the daemon's SO_PEERCRED
    /// names it), reading `password` on standard input as a script would (not a terminal).
    func signedCLI(_ arguments: [String], as user: SystemUser, group: SystemGroup, password: String) async throws
        -> (status: Int32, out: String, err: String)
    {
        let secret = folder + "/password-\(UUID().uuidString.prefix(8))"
        try (password + "\n").write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        // Root's shell opens the file before setpriv becomes the user.
        let child = try process(
            "/bin/sh",
            ["-c", "u=$1 g=$2 b=$3 f=$4; shift 4; exec /usr/bin/setpriv --reuid=\"$u\" --regid=\"$g\" --init-groups -- \"$b\" \"$@\" < \"$f\"", "sh",
             user.name, group.name, Harness.binary, secret] + arguments + ["--socket", folder + "/control.sock"],
            name: "signed-cli-\(UUID().uuidString.prefix(8))")
        let status = try await child.wait(timeout: .seconds(60))
        return (status, child.stdout, child.stderr)
    }
}

@Suite("electronic signatures on the real daemon", .serialized)
struct SignatureEndToEndTests {
    @Test(
        "an operator's acknowledgement needs their password: refused with a wrong one (audited, exit 3), signed with the right one through the shipped PAM service; the signature is in the store, the trail and passes audit verify",
        .enabled(if: isRoot, "needs root to make a user with a password (useradd, chpasswd) and run the CLI as that user"))
    func signedAcknowledgement() async throws {
        let removePAM = try installPAMService()
        defer { removePAM() }
        let group = try SystemGroup()
        defer { group.remove() }
        let user = try SystemUser(fullName: "Olga Operator", groups: [group.name])
        defer { user.remove() }
        let harness = try Harness(
            config: lotConfig(operators: "\(group.name), \(primaryGroup())", qa: group.name, signatures: "ack, close, correct, approve"),
            scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 30s }\n")
        chmod(harness.folder, 0o755)  // the user must reach the socket in it
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-E", "--device", "INC-02", "--spec", "tight"])
        try await eventually("a deviation", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationOpened }
        }
        let id = try #require(try harness.deviationEvents().first?.deviation)
        let ack = ["deviations", "ack", id, "--comment", "door left open during feeding"]

        let wrong = try await harness.signedCLI(ack, as: user, group: group, password: "not-it")
        #expect(wrong.status == 3, "\(wrong.err)")
        #expect(wrong.err.contains("ack needs an electronic signature (acknowledged): give your password"), "\(wrong.err)")
        #expect(wrong.err.hasSuffix("refused: signature refused: the password of \(user.name) was not accepted\n"), "\(wrong.err)")

        let signed = try await harness.signedCLI(ack, as: user, group: group, password: user.password)
        #expect(signed.status == 0, "\(signed.err)")
        #expect(signed.out.contains("acknowledged"), "\(signed.out)")

        try await harness.stopDaemon()
        let store = try ReadingStore(readingExisting: harness.storePath)
        let signatures = try await store.pool.read { db in try Signer.signatures(on: .deviation(id), db: db) }
        #expect(signatures.count == 1)
        let signature = try #require(signatures.first)
        #expect(signature.user == user.name && signature.fullName == "Olga Operator" && signature.meaning == "acknowledged")
        let trail = try AuditTrail.list(in: store, object: "deviation \(id)")
        #expect(trail.map(\.action).suffix(3) == ["signature_failed", "deviation_acknowledged", "signed"], "\(trail.map(\.action))")
        #expect(trail.last?.seq == signature.auditSeq && trail.last?.user == user.name)
        #expect(trail.first { $0.action == "signature_failed" }?.user == user.name)
        #expect(!trail.contains { ($0.new ?? "").contains(user.password) || ($0.reason ?? "").contains("not-it") })
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
    }

    @Test(
        "the daemon as an unprivileged user under no_new_privs, as the unit runs it: without the shadow group pam_unix cannot check another user's password (its setgid helper gains nothing), with SupplementaryGroups=shadow a correction is signed",
        .enabled(if: isRoot, "needs root to make users and run the daemon as one of them (setpriv)"))
    func unprivilegedDaemon() async throws {
        let removePAM = try installPAMService()
        defer { removePAM() }
        let group = try SystemGroup()
        defer { group.remove() }
        let service = try SystemUser(fullName: "labgate daemon", groups: [group.name])
        defer { service.remove() }
        let user = try SystemUser(fullName: "Olga Operator", groups: [group.name])
        defer { user.remove() }
        let harness = try Harness(
            config: lotConfig(operators: "\(group.name), \(primaryGroup())", qa: group.name, signatures: "correct"))
        chmod(harness.folder, 0o755)
        _ = try runCommand("/bin/chown", ["-R", "\(service.name):\(group.name)", harness.folder])
        try await harness.startSim(speed: 1)
        // What the unit's User=, SupplementaryGroups= and NoNewPrivileges=yes make of the daemon.
        func daemon(groups: String) -> [String] {
            ["/usr/bin/setpriv", "--reuid=\(service.name)", "--regid=\(group.name)", "--groups=\(groups)", "--no-new-privs", "--"]
        }
        let correct = ["lot", "correct", "LOT-H", "--event", "1", "--spec", "loose", "--reason", "placed with the wrong spec"]

        try harness.startDaemon(wrapper: daemon(groups: group.name))
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-H", "--device", "INC-01", "--spec", "tight"])
        let refused = try await harness.signedCLI(correct, as: user, group: group, password: user.password)
        #expect(refused.status != 0, "\(refused.out)")
        try await harness.stopDaemon()

        try harness.startDaemon(wrapper: daemon(groups: "\(group.name),shadow"))
        try await harness.waitForSocket()
        let signed = try await harness.signedCLI(correct, as: user, group: group, password: user.password)
        #expect(signed.status == 0, "\(signed.err)")
        try await harness.stopDaemon()

        let store = try ReadingStore(readingExisting: harness.storePath)
        let signatures = try await store.pool.read { db in try Signer.signatures(ofLot: "LOT-H", db: db) }
        #expect(signatures.map(\.meaning) == ["corrected"] && signatures.first?.user == user.name)
        let failed = try AuditTrail.list(in: store, object: "lot LOT-H").filter { $0.action == "signature_failed" }
        #expect(failed.count == 1 && failed.first?.user == user.name, "\(refused.err)")
    }
}
