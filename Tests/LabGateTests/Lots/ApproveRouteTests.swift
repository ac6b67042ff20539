import Foundation
import Testing
@testable import LabGate
@testable import LabGateDaemon

@Suite("lot approve on the control socket", .serialized)
struct ApproveRouteTests {
    @Test("approving takes QA's role and always a password (401 without one); a user who corrected the lot is refused before the password is asked, and the refusal is audited")
    func rules() async throws {
        let server = try await RunningServer()
        let client = server.client
        server.identity.set("alice", ["lab-ops", "lab-qa"])
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 200)
        #expect(try await client.post("/lots/L9/approve", ControlAPI.Approve(password: nil)).status == 404)

        server.identity.set("alice", ["lab-ops", "lab-qa"])
        let unsigned = try await client.post("/lots/L1/approve", ControlAPI.Approve(password: nil))
        #expect(unsigned.status == 401, "\(unsigned.message)")
        #expect(unsigned.message == "approve needs an electronic signature (approved for batch release): give your password")

        let corrected = try await client.post(
            "/lots/L1/correct", ControlAPI.CorrectLot(event: 1, device: nil, spec: nil, at: UTCTime.format(Date().addingTimeInterval(-60)), reason: "placed a minute earlier"))
        #expect(corrected.status == 200, "\(corrected.message)")
        let refused = try await client.post("/lots/L1/approve", ControlAPI.Approve(password: "whatever"))
        #expect(refused.status == 403)
        #expect(refused.message == "alice corrected lot L1 and may not also approve it (roles: separate_duties)")
        let trail = try await client.get("/audit").decode([ControlAPI.AuditView].self)
        #expect(trail.last?.action == "refused" && trail.last?.reason?.contains("corrected lot L1") == true, "\(trail.map(\.action))")
        #expect(!trail.contains { $0.action == "signature_failed" }, "no password was checked")

        server.identity.set("bob", ["lab-ops"])
        let operatorOnly = try await client.post("/lots/L1/approve", ControlAPI.Approve(password: nil))
        #expect(operatorOnly.status == 403 && operatorOnly.message.contains("needs the qa role"), "\(operatorOnly.message)")
        await server.stop()
    }
}
