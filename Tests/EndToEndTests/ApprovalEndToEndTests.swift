import Foundation
import Glibc
import LabGate
import Testing
import TestSupport

private let asRoot = geteuid() == 0

@Suite("approving a lot for batch release on the real daemon", .serialized)
struct ApprovalEndToEndTests {
    @Test(
        "QA approves a lot with their password; a deviation opened after it supersedes the approval in the report; a signed acknowledgement and a second approval are in the report's Signatures, and the approval stands again",
        .enabled(if: asRoot, "needs root to make users with passwords (useradd, chpasswd) and run the CLI as them"))
    func approveSupersedeApprove() async throws {
        let removePAM = try installPAMService()
        defer { removePAM() }
        let operators = try SystemGroup()
        defer { operators.remove() }
        let qa = try SystemGroup()
        defer { qa.remove() }
        let olga = try SystemUser(fullName: "Olga Operator", groups: [operators.name])
        defer { olga.remove() }
        let carol = try SystemUser(fullName: "Carol Quality", groups: [qa.name])
        defer { carol.remove() }
        // The door opens 30 s after the simulator starts (speed 30): after the first approval.
        let harness = try Harness(
            config: lotConfig(operators: "\(operators.name), \(primaryGroup())", qa: qa.name, signatures: "ack, close, correct, approve"),
            scenario: "events:\n  - { at: 900s, device: INC-02, event: door_open, for: 30s }\n")
        chmod(harness.folder, 0o755)  // the users must reach the socket in it
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-P", "--device", "INC-02", "--spec", "tight"])
        try await eventually("readings of the lot", timeout: .seconds(30)) {
            try harness.readings(device: "INC-02").filter { $0.lots.contains("LOT-P") }.count >= 4
        }
        func summary() async throws -> String {
            let csv = try await harness.cli(["report", "lot", "LOT-P", "--store", harness.storePath, "--format", "summary-csv"])
            #expect(csv.status == 0, "\(csv.err)")
            return csv.out
        }
        #expect(try await summary().contains("lot,LOT-P,approval,not approved\n"))

        let first = try await harness.signedCLI(["lot", "approve", "LOT-P"], as: carol, group: qa, password: carol.password)
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("approve needs an electronic signature (approved for batch release): give your password"), "\(first.err)")
        #expect(first.out.contains("approval: approved for batch release by Carol Quality (\(carol.name)) at "), "\(first.out)")
        #expect(try harness.deviationEvents().isEmpty, "approved before the door opened")
        #expect(try await summary().contains("lot,LOT-P,approval,approved\n"), "readings after the approval are no change to it")

        // The door opens: a deviation names the lot, the record has changed since the approval.
        try await eventually("the deviation's recovery", timeout: .seconds(120)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        let id = try #require(try harness.deviationEvents().first?.deviation)
        let superseded = try await summary()
        #expect(superseded.contains("lot,LOT-P,approval,superseded\n"), "\(superseded)")
        #expect(superseded.contains("\(id) is new"), "\(superseded)")
        #expect(try await harness.control(["lot", "show", "LOT-P"]).out.contains("approval: superseded: approved by Carol Quality (\(carol.name)) at "))

        let ack = try await harness.signedCLI(
            ["deviations", "ack", id, "--comment", "door left open during feeding"], as: olga, group: operators, password: olga.password)
        #expect(ack.status == 0, "\(ack.err)")
        let again = try await harness.signedCLI(["lot", "approve", "LOT-P"], as: carol, group: qa, password: carol.password)
        #expect(again.status == 0, "\(again.err)")

        let html = try await harness.cli(["report", "lot", "LOT-P", "--store", harness.storePath])
        #expect(html.status == 0, "\(html.err)")
        let page = String(html.out[try #require(html.out.range(of: "Summary for QA review")).lowerBound...].prefix(4000))
        #expect(page.contains(">APPROVED<") && page.contains(id) && page.contains(">acknowledged<"), "\(page)")
        let signatures = String(html.out[try #require(html.out.range(of: "<h2>Signatures (3)</h2>")).lowerBound...])
        #expect(signatures.contains("<td>Olga Operator (\(olga.name))</td>"), "\(signatures.prefix(2000))")
        #expect(signatures.contains("<td>acknowledged</td><td>deviation \(id)</td>"))
        #expect(signatures.components(separatedBy: "<td>Carol Quality (\(carol.name))</td>").count == 3, "two approvals")
        #expect(signatures.contains("<td>approved for batch release</td><td>lot LOT-P</td>"))
        #expect(html.out.contains("Olga Operator (\(olga.name)) signed \(id): acknowledged"), "the audit section's sentence")
        #expect(html.out.contains("\(olga.name) acknowledged \(id): door left open during feeding"))
        try await harness.stopDaemon()
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
    }
}
