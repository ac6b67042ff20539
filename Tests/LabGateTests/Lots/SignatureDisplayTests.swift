import Foundation
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

@Suite("signatures where people look", .serialized)
struct SignatureDisplayTests {
    @Test("deviations show lists the signatures on a deviation with printed name, UTC time and meaning")
    func deviationShow() async throws {
        let server = try await RunningServer()
        let record = DeviationRecord(
            id: "DEV-2026-0007", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
            limit: .init(name: "high", value: 5.5, source: "spec msc-culture"), start: 1_700_000_020_000,
            opened: 1_700_000_030_000, valueAtOpening: 5.8, critical: false, end: nil, worst: 5.8, size: nil, lots: ["L1"])
        try await server.deviations.commit([.opened(record)], state: "[]")
        _ = try await server.deviations.acknowledge(
            "DEV-2026-0007", user: "alice", comment: "door left open during feeding",
            signature: SignatureGrant(user: "alice", fullName: "Alice Smith", action: .ack, subject: .deviation("DEV-2026-0007")))
        let view = try await server.client.get("/deviations/DEV-2026-0007").decode(ControlAPI.DeviationView.self)
        let signature = try #require(view.signatures?.first)
        #expect(signature.signedBy == "Alice Smith (alice)" && signature.meaning == "acknowledged")
        let text = ControlText.deviation(view)
        #expect(text.contains("  signed:   Alice Smith (alice)  \(signature.signedAt)  acknowledged\n"), "\(text)")
        #expect(signature.signedAt.hasSuffix("Z") && signature.signedAt.count == 24, "UTC with milliseconds")
        await server.stop()
    }

    @Test("lot show gives the approval state: approved while newer readings come, superseded by one stamped before the approval's end, with its signatures")
    func lotShow() async throws {
        let server = try await RunningServer()
        let client = server.client
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 200)
        let before = try await client.get("/lots/L1").decode(ControlAPI.LotView.self)
        #expect(before.approval?.state == "not approved" && before.signatures?.isEmpty == true)
        let writer = ReadingWriter(store: server.store)
        try await Task.sleep(for: .milliseconds(20))
        let now = Date()
        try await writer.append([Reading(device: "INC-01", channel: "co2", time: now, value: 5, quality: .good, lots: ["L1"])])
        try await writer.flush()
        try await approve(server.store, lot: "L1", user: "carol", fullName: "Carol Quinn")

        try await writer.append([Reading(device: "INC-01", channel: "co2", time: now.addingTimeInterval(1), value: 5, quality: .good, lots: ["L1"])])
        try await writer.flush()
        let approved = try await client.get("/lots/L1").decode(ControlAPI.LotView.self)
        #expect(approved.approval?.state == "approved", "a reading after what was approved is no change to it")
        let text = ControlText.lot(approved)
        #expect(text.contains("approval: approved for batch release by Carol Quinn (carol) at "), "\(text)")
        #expect(text.contains("signatures:\n  Carol Quinn (carol)  ") && text.contains("  approved for batch release  on lot L1\n"))

        // Stamped between the lot's start and the newest reading approved (held back, written late).
        let start = try #require(before.since.flatMap(UTCTime.parse))
        let between = Date(timeIntervalSince1970: (start.timeIntervalSince1970 + now.timeIntervalSince1970) / 2)
        try await writer.append([Reading(device: "INC-01", channel: "co2", time: between, value: 5, quality: .good, lots: ["L1"])])
        try await writer.flush()
        let late = try await client.get("/lots/L1").decode(ControlAPI.LotView.self)
        #expect(late.approval?.state == "superseded")
        #expect(ControlText.lot(late).contains("approval: superseded: approved by Carol Quinn (carol) at "))
        #expect(ControlText.lot(late).contains("(INC-01 co2: 1 reading(s) more)"))
        await server.stop()
    }

    @Test("alarms list shows the signature on an alarm's acknowledgement")
    func alarmsList() throws {
        let json = #"""
            {"id":"ALM-2026-0003","state":"acknowledged","event":"device_unreachable","severity":"warning","device":"INC-01",
             "lots":[],"summary":"INC-01 unreachable","raised":"2026-11-30T10:00:00.000Z","repeatsSent":1,"stepsReached":0,
             "notify":[],"acknowledgedBy":"alice","acknowledgedAt":"2026-11-30T10:02:00.000Z","comment":"cable",
             "signatures":[{"signedBy":"Alice Smith (alice)","user":"alice","signedAt":"2026-11-30T10:02:00.120Z",
             "meaning":"acknowledged","on":"alarm ALM-2026-0003","contentSHA256":"00","auditSeq":9}]}
            """#
        let view = try JSONDecoder().decode(ControlAPI.AlarmView.self, from: Data(json.utf8))
        #expect(ControlText.alarms([view]).contains("acknowledged 2026-11-30T10:02:00.000Z by alice — cable  signed: Alice Smith (alice)  2026-11-30T10:02:00.120Z  acknowledged"))
    }
}
