import Foundation
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

/// A deviation that has recovered, ready to be acknowledged and closed (signed or not).
func recoveredDeviation(in server: RunningServer) async throws -> String {
    let record = DeviationRecord(
        id: "DEV-2027-0001", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
        limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
        opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: 1_800_000_026_000, worst: 4.3,
        size: nil, lots: ["LOT-1"])
    try await server.deviations.commit([.opened(record)], state: "[]")
    return record.id
}

@Suite("separation of duties", .serialized)
struct SeparationOfDutiesTests {
    @Test("the QA user who acknowledged a deviation may not close it: refused naming both and the rule, audited as refused; another QA user closes it")
    func refused() async throws {
        let server = try await RunningServer()
        let client = server.client
        let id = try await recoveredDeviation(in: server)
        // dana holds both roles, as a small site's supervisor might.
        server.identity.set("dana", ["lab-ops", "lab-qa"])
        let acked = try await client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "door left open"))
        #expect(acked.status == 200, "\(acked.message)")

        let refused = try await client.post("/deviations/\(id)/close", ControlAPI.Close(impact: "none"))
        #expect(refused.status == 403)
        #expect(refused.message == "user dana may not close \(id): it was acknowledged by dana, and separation of duties requires the QA user who closes a deviation to be another than the one who acknowledged it (roles: separate_duties)")
        let shown = try await client.get("/deviations/\(id)").decode(ControlAPI.DeviationView.self)
        #expect(shown.state == "acknowledged", "still open for QA")

        let audit = try await client.get("/audit").decode([ControlAPI.AuditView].self)
        let entry = try #require(audit.last)
        #expect(entry.action == "refused")
        #expect(entry.user == "dana")
        #expect(entry.object == "uid 1000")
        #expect(entry.reason?.contains("acknowledged by dana, and separation of duties") == true, "\(entry.reason ?? "")")
        #expect(entry.new?.contains(#""routes":{"POST /deviations/{id}/close":1}"#) == true, "\(entry.new ?? "")")
        #expect(entry.new?.contains(#""sha256":""#) == true, "the body's digest, never the body: \(entry.new ?? "")")
        #expect(entry.new?.contains("none") == false)

        server.identity.set("carol", ["lab-qa"])
        let closed = try await client.post("/deviations/\(id)/close", ControlAPI.Close(impact: "none: within validated recovery"))
        #expect(closed.status == 200, "\(closed.message)")
        #expect(try closed.decode(ControlAPI.DeviationView.self).closedBy == "carol")
        #expect(try await client.get("/audit/verify").decode(AuditVerifier.Report.self).ok)
        await server.stop()
    }

    @Test("with roles: { separate_duties: false } the user who acknowledged a deviation may close it")
    func optOut() async throws {
        let server = try await RunningServer(roles: Roles(operators: ["lab-ops"], qa: ["lab-qa"], separateDuties: false))
        let client = server.client
        let id = try await recoveredDeviation(in: server)
        server.identity.set("dana", ["lab-ops", "lab-qa"])
        #expect(try await client.post("/deviations/\(id)/ack", ControlAPI.Acknowledge(comment: "door left open")).status == 200)
        let closed = try await client.post("/deviations/\(id)/close", ControlAPI.Close(impact: "none"))
        #expect(closed.status == 200, "\(closed.message)")
        let view = try closed.decode(ControlAPI.DeviationView.self)
        #expect(view.acknowledgedBy == "dana" && view.closedBy == "dana")
        await server.stop()
    }

    @Test("the deviation book enforces the rule in the closing transaction too, unless told the site has turned it off")
    func book() async throws {
        let server = try await RunningServer()
        let id = try await recoveredDeviation(in: server)
        _ = try await server.deviations.acknowledge(id, user: "dana", comment: "seen")
        await #expect(throws: DeviationError.sameUser(id: id, acknowledgedBy: "dana", closer: "dana")) {
            try await server.deviations.close(id, user: "dana", impact: "none")
        }
        #expect(try await server.deviations.close(id, user: "dana", impact: "none", separateDuties: false).closedBy == "dana")
        await server.stop()
    }

    @Test("the config reads roles: { separate_duties: false }; the rule is on by default; loading a config that turns it off makes an audit entry saying so")
    func config() throws {
        #expect(try ConfigLoader.parse(yaml: ConfigFixtures.base, file: "lab.yaml").roles.separateDuties)
        let off = ConfigFixtures.base + "roles: { qa: [lab-qa], separate_duties: false }\n"
        #expect(try ConfigLoader.parse(yaml: off, file: "lab.yaml").roles.separateDuties == false)
        let wrong = ConfigFixtures.messages(ConfigFixtures.base + "roles: { separate_duties: no }\n")
        #expect(wrong.contains { $0.hasPrefix("lab.yaml:33:") && $0.contains("expected true or false for separate_duties") }, "\(wrong)")
        let folder = try TemporaryFolder()
        var config = incubatorConfig(folder: folder.path)
        #expect(config.roles.separateDuties)
        #expect(SeparationOfDuties.loadEntry(config, user: "labgate") == nil)
        config.roles.separateDuties = false
        let entry = try #require(SeparationOfDuties.loadEntry(config, user: "labgate"))
        #expect(entry.action == "separation_of_duties_off")
        #expect(entry.object == "config \(config.file)")
        #expect(entry.reason?.contains("the user who acknowledged a deviation may also close it") == true)
    }
}
