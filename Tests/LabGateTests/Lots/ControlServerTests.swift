import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing
@testable import LabGate
@testable import LabGateClient
@testable import LabGateDaemon

/// Whoever the test says is at the other end of the socket.
final class SwitchableIdentity: IdentityResolver {
    private let peer = Mutex(Peer(uid: 1000, user: "alice", groups: ["lab-ops"]))

    func set(_ user: String, _ groups: [String]) { peer.withLock { $0 = Peer(uid: 1000, user: user, groups: groups) } }
    func identify(uid: UInt32, gid: UInt32) -> Peer { peer.withLock { $0 } }
}

/// A control server on a socket in a temporary folder, stopped by `stop()`.
struct RunningServer {
    let folder: TemporaryFolder
    let store: ReadingStore
    let identity = SwitchableIdentity()
    let client: ControlClient
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let registry = LotRegistry()
    let alerts: AlertLog
    let deviations: DeviationBook

    init(
        limits: ConnectionLimits = ConnectionLimits(), refusalWindow: Duration = .seconds(60),
        resolver: (any IdentityResolver)? = nil, roles: Roles = Roles(operators: ["lab-ops"], qa: ["lab-qa"]),
        signatures: SignatureSettings = SignatureSettings(), passwords: (any PasswordChecker)? = nil
    ) async throws {
        folder = try TemporaryFolder()
        var config = incubatorConfig(folder: folder.path)
        config.control = folder.path + "/control.sock"
        config.roles = roles
        config.signatures = signatures
        var second = config.devices[0]
        second.id = "INC-02"
        second.unit = 2
        config.devices.append(second)
        store = try ReadingStore(path: config.store)
        alerts = try AlertLog(folder: folder.path)
        deviations = DeviationBook(store: store, daemonUser: "labgate")
        let server = ControlServer(
            path: config.control!, config: config, store: store, registry: registry,
            deviations: deviations, alerts: alerts,
            resolver: resolver ?? identity, limits: limits, refusalWindow: refusalWindow,
            signer: passwords.map { [store] in Signer(store: store, checker: $0) }, logger: Logger(label: "test"))
        group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let group = group
        task = Task { try await group.run() }
        client = ControlClient(path: config.control!)
        let path = config.control!
        try await eventually("the control socket listening", timeout: .seconds(10)) { UnixSocketAddress.isListening(path) }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

@Suite("control socket", .serialized)
struct ControlServerTests {
    @Test("lot actions are attributed to the peer's user; a user outside the operator group is refused and the refusal audited (further refusals within the minute counted)")
    func rolesAndRefusals() async throws {
        let server = try await RunningServer()
        let client = server.client

        let who = try await client.get("/whoami").decode(ControlAPI.WhoAmI.self)
        #expect(who.user == "alice")
        #expect(who.roles == ["operator"])

        let started = try await client.post("/lots", ControlAPI.StartLot(lot: "MSC-AT-0042", device: "INC-01", spec: "msc-culture", note: "P2"))
        #expect(started.status == 200, "\(started.message)")
        let lot = try started.decode(ControlAPI.LotView.self)
        #expect(lot.state == "inside")
        #expect(lot.placements.first?.startedBy == "alice")

        server.identity.set("bob", ["users"])
        let refused = try await client.post("/lots/MSC-AT-0042/end", ControlAPI.EndLot(note: nil))
        #expect(refused.status == 403)
        #expect(refused.message == "user bob may not lot end: that needs the operator role (groups: lab-ops)")
        #expect(try await client.get("/lots").status == 403, "reading needs a role too")

        server.identity.set("carol", ["lab-qa"])
        let all = try await client.get("/audit").decode([ControlAPI.AuditView].self)
        // The lot's start records what its device's numbers and its spec mean (no config load
        // recorded them here), then comes the refusal; bob's second waits for the end of his minute.
        #expect(all.map(\.action) == ["lot_start", "series_described", "series_described", "spec_recorded", "refused"])
        let entries = all.filter { $0.action != "series_described" && $0.action != "spec_recorded" }
        #expect(entries[0].user == "alice")
        #expect(entries[1].user == "bob")
        #expect(entries[1].object == "uid 1000")
        #expect(entries[1].reason?.contains("operator role") == true)
        #expect(entries[1].new?.contains(#""routes":{"POST /lots/{lot}/end":1}"#) == true, "\(entries[1].new ?? "")")
        #expect(try await client.post("/lots/MSC-AT-0042/move", ControlAPI.MoveLot(device: "INC-01", spec: nil, note: nil)).status == 403)
        #expect(try await client.get("/audit/verify").decode(AuditVerifier.Report.self).ok)
        await server.stop()
    }

    @Test("lot rules: unknown device or spec, a started lot started again, a move to where it is, an ended lot")
    func lotRules() async throws {
        let server = try await RunningServer()
        let client = server.client
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-09", spec: "msc-culture", note: nil)).status == 404)
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "nope", note: nil)).status == 404)
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L 1", device: "INC-01", spec: "msc-culture", note: nil)).status == 400)
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 200)
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 409)
        #expect(try await client.post("/lots/L1/move", ControlAPI.MoveLot(device: "INC-01", spec: nil, note: nil)).status == 409)
        #expect(try await client.post("/lots/L2/move", ControlAPI.MoveLot(device: "INC-01", spec: nil, note: nil)).status == 404)
        let ended = try await client.post("/lots/L1/end", ControlAPI.EndLot(note: "harvested"))
        #expect(ended.status == 200)
        #expect(try ended.decode(ControlAPI.LotView.self).placements.first?.end != nil)
        #expect(try await client.post("/lots/L1/end", ControlAPI.EndLot(note: nil)).status == 409)
        #expect(try await client.get("/deviations/DEV-2026-0001").status == 404)
        await server.stop()
        let missing = ControlClient(path: server.folder.path + "/control.sock")
        await #expect(throws: ControlClient.Failure.self) { _ = try await missing.get("/lots") }
    }

    @Test("a correction is a new audited entry: placements and tagging follow it, stored readings keep what was recorded")
    func corrections() async throws {
        let server = try await RunningServer()
        let client = server.client
        #expect(try await client.post("/lots", ControlAPI.StartLot(lot: "L1", device: "INC-01", spec: "msc-culture", note: nil)).status == 200)
        let writer = ReadingWriter(store: server.store)
        let now = Date()
        let tagged = server.registry.exposure(device: "INC-01", at: now).map(\.lot)
        #expect(tagged == ["L1"])
        try await writer.append([Reading(device: "INC-01", channel: "co2", time: now, value: 5, quality: .good, lots: tagged)])
        try await writer.flush()

        func correct(_ body: ControlAPI.CorrectLot) async throws -> ControlClient.Reply {
            try await client.post("/lots/L1/correct", body)
        }
        #expect(try await correct(.init(event: 1, device: "INC-02", spec: nil, at: nil, reason: " ")).status == 400)
        #expect(try await correct(.init(event: 7, device: "INC-02", spec: nil, at: nil, reason: "wrong")).status == 404)
        #expect(try await correct(.init(event: 1, device: nil, spec: nil, at: "2999-01-01T00:00:00Z", reason: "x")).status == 400)
        let reply = try await correct(.init(event: 1, device: "INC-02", spec: nil, at: nil, reason: "placed in INC-02, recorded as INC-01"))
        #expect(reply.status == 200, "\(reply.message)")
        let view = try reply.decode(ControlAPI.LotView.self)
        #expect(view.device == "INC-02")
        #expect(view.placements.count == 1)
        #expect(view.placements.first?.correctedBy == "alice")
        #expect(view.events.map(\.action) == ["start", "correct"])
        #expect(view.events.last?.corrects == 1)

        #expect(server.registry.exposure(device: "INC-02", at: Date()).map(\.lot) == ["L1"], "tagging follows the correction")
        #expect(server.registry.exposure(device: "INC-01", at: Date()).isEmpty)
        #expect(try ReadingQuery(device: "INC-01").fetch(from: server.store).map(\.lots) == [["L1"]], "stored readings keep their lots")

        let audit = try await client.get("/audit?object=L1").decode([ControlAPI.AuditView].self)
        let entry = try #require(audit.last)
        #expect(entry.action == "lot_correct")
        #expect(entry.reason == "placed in INC-02, recorded as INC-01")
        #expect(entry.old?.contains("\"device\":\"INC-01\"") == true)
        #expect(entry.new?.contains("\"corrects\":1") == true)
        #expect(try await client.get("/audit/verify").decode(AuditVerifier.Report.self).ok)

        // An end cannot move, and nothing may come before the start.
        #expect(try await client.post("/lots/L1/end", ControlAPI.EndLot(note: nil)).status == 200)
        #expect(try await correct(.init(event: 3, device: "INC-01", spec: nil, at: nil, reason: "x")).status == 400)
        #expect(try await correct(.init(event: 3, device: nil, spec: nil, at: "2020-01-01T00:00:00Z", reason: "x")).status == 409)
        await server.stop()
    }
}
