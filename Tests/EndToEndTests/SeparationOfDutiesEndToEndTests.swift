import Foundation
import Glibc
import LabGate
import LabGateDaemon
import Testing

@Suite("separation of duties on the real daemon", .serialized)
struct SeparationOfDutiesEndToEndTests {
    @Test("by default the user who acknowledged a deviation cannot close it (refused and audited); a config with separate_duties: false, loaded on SIGHUP, is audited and lets them")
    func acknowledgerCannotClose() async throws {
        let harness = try Harness(
            config: lotConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 30s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-S", "--device", "INC-02", "--spec", "tight"])
        try await eventually("recovery", timeout: .seconds(60)) {
            try harness.deviationEvents().contains { $0.event == .deviationRecovered }
        }
        let id = try #require(try harness.deviationEvents().first?.deviation)
        let user = SystemIdentityResolver.currentUser
        try await harness.control(["deviations", "ack", id, "--comment", "door left open during feeding"])
        let refused = try await harness.control(["deviations", "close", id, "--impact", "none"], expect: 3)
        #expect(refused.err == "refused: user \(user) may not close \(id): it was acknowledged by \(user), and separation of duties requires the QA user who closes a deviation to be another than the one who acknowledged it (roles: separate_duties)\n")
        let audit = try await harness.control(["audit", "list", "--object", "uid \(geteuid())"])
        #expect(audit.out.contains("refused  uid \(geteuid())  — user \(user) may not close \(id): it was acknowledged by \(user)"), "\(audit.out)")
        #expect(try await harness.control(["deviations", "show", id]).out.contains("acknowledged"))

        // The site turns the rule off: the load says so in the trail.
        try lotConfig(separateDuties: false).replacingOccurrences(of: "PORT", with: String(harness.port))
            .replacingOccurrences(of: "FOLDER", with: harness.folder)
            .write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.kill(SIGHUP)
        try await eventually("the reload", timeout: .seconds(30)) {
            harness.daemon!.stderr.contains("config \(harness.configPath) reloaded")
        }
        try await harness.waitForSocket()
        let loads = try await harness.control(["audit", "list", "--object", "config \(harness.configPath)"])
        #expect(loads.out.contains("separation_of_duties_off  config \(harness.configPath)  — roles: { separate_duties: false } in \(harness.configPath): the user who acknowledged a deviation may also close it"), "\(loads.out)")
        let closed = try await harness.control(["deviations", "close", id, "--impact", "none: within validated recovery"])
        #expect(closed.out.contains("closed"), "\(closed.out)")
        try await harness.stopDaemon()
        #expect(try await harness.cli(["audit", "verify", "--store", harness.storePath]).status == 0)
    }
}
