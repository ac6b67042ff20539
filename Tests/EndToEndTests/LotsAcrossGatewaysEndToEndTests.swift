import Foundation
import Glibc
import GRDB
import LabGate
import Testing

/// Lots across gateways with real gateways (labgated + simulator each) and a real PostgreSQL 15:
/// a lot moved on the gateway that never saw it, the gateway that held it ending its placement
/// when it hears (the site store stopped meanwhile, or that gateway stopped), both gateways acting
/// on one lot at once, a move voided afterwards, and two gateways with one device id. FAULTS.md
/// reports the figures these tests print.

/// A gateway with a control socket, two incubators (`devices`), the spec `tight`, forwarding as
/// `gateway` to the site store.
private func gatewayConfig(_ gateway: String, devices: [String], url: String, passwordFile: String) -> String {
    let lines = devices.enumerated().map { index, id in
        "  - { id: \(id), kind: incubator, bus: lan, unit: \(index + 1), profile: inc, every: 200ms, timeout: 300ms, retries: 0 }"
    }.joined(separator: "\n")
    return """
        site: e2e-site
        store: FOLDER/labgate.sqlite
        alerts: FOLDER
        control: FOLDER/control.sock
        gateway: \(gateway)
        site_store: { url: "\(url)", tls: disable, password_file: \(passwordFile) }
        roles: { operators: [\(primaryGroup())], qa: [\(primaryGroup())] }
        signatures: { require: [] }
        buses:
          - id: lan
            tcp: { host: 127.0.0.1, port: PORT }
        devices:
        \(lines)
        profiles:
          inc:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
        specs:
          tight:
            co2: { low: 4.5, high: 5.5, delay: 1s }

        """
}

private struct LotGateway {
    let id: String
    let harness: Harness

    init(_ id: String, devices: [String], server: PostgreSQLServer) throws {
        self.id = id
        harness = try Harness(config: gatewayConfig(id, devices: devices, url: server.url, passwordFile: server.passwordFile))
    }

    func start() async throws {
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await harness.waitForSocket()
    }

    func stop() async throws {
        harness.daemon?.kill(SIGTERM)
        _ = try await harness.daemon?.wait(timeout: .seconds(30))
        harness.sim?.kill(SIGTERM)
    }

    func lot(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        try await harness.cli(["lot"] + arguments + ["--config", harness.configPath])
    }

    func events(_ lot: String) async throws -> [LotEvent] {
        try await ReadingStore(readingExisting: harness.storePath).pool.read { db in try LotEvent.fetchAll(db, lot: lot) }
    }

    /// Readings of `device` taken at or after `since` (ms), and how many of them carry `lot`.
    func tagged(_ device: String, lot: String, since: Int64) async throws -> (all: Int, tagged: Int) {
        try await ReadingStore(readingExisting: harness.storePath).pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(lot_set.lots LIKE '%' || ? || '%'), 0)
                FROM reading JOIN series ON series.id = reading.series LEFT JOIN lot_set ON lot_set.id = reading.lot_set
                WHERE series.device = ? AND reading.time >= ?
                """, arguments: [lot, device, since])
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    func audit(_ action: String) async throws -> [String] {
        try await ReadingStore(readingExisting: harness.storePath).pool.read { db in
            try String.fetchAll(db, sql: "SELECT coalesce(old, '') || ' ' || coalesce(reason, '') FROM audit WHERE action = ?", arguments: [action])
        }
    }
}

extension PostgreSQLServer {
    /// A lot's events at the site, as every gateway forwarded them.
    func siteEvents(_ lot: String) throws -> [SiteLotEvent] {
        try rows("""
            SELECT gateway, id, action, coalesce(device, ''), coalesce(spec, ''), (extract(epoch FROM time) * 1000)::bigint, "user",
                coalesce(corrects::text, ''), coalesce(((extract(epoch FROM effective) * 1000)::bigint)::text, '')
            FROM lot_event WHERE lot = '\(lot)' ORDER BY gateway, id
            """).map { row in
            SiteLotEvent(gateway: row[0], event: LotEvent(
                id: Int64(row[1])!, lot: lot, action: LotEvent.Action(rawValue: row[2])!, device: row[3].isEmpty ? nil : row[3],
                spec: row[4].isEmpty ? nil : row[4], time: Int64(row[5])!, user: row[6], corrects: Int64(row[7]),
                effective: Int64(row[8])))
        }
    }

    /// Waits until `gateway` has read the site's lot events as they stand now: a batch of its
    /// committed at least two read intervals after this moment.
    func waitUntilRead(by gateway: String) async throws {
        let now = try rows("SELECT now()")[0][0]
        try await eventually("\(gateway) to read the site's lots", timeout: .seconds(30)) {
            (try? rows("SELECT last_forward > timestamptz '\(now)' + interval '2.5 seconds' FROM gateway WHERE id = '\(gateway)'"))?.first?.first == "t"
        }
    }
}

@Suite("lots across gateways, with real gateways and a real PostgreSQL", .serialized)
struct LotsAcrossGatewaysEndToEndTests {
    /// gw-a (INC-01, INC-02) and gw-b (INC-B1, INC-B2) running on `server`, with `lots` started
    /// on gw-a's devices in turn (spec tight), each at the site and read back by gw-b.
    private func twoGateways(on server: PostgreSQLServer, lotsOnA lots: [String]) async throws -> (a: LotGateway, b: LotGateway) {
        let a = try LotGateway("gw-a", devices: ["INC-01", "INC-02"], server: server)
        let b = try LotGateway("gw-b", devices: ["INC-B1", "INC-B2"], server: server)
        try await a.start()
        try await b.start()
        for (lot, device) in zip(lots, ["INC-01", "INC-02"]) {
            #expect(try await a.lot(["start", lot, "--device", device, "--spec", "tight"]).status == 0)
        }
        try await eventually("gw-a's starts at the site", timeout: .seconds(30)) {
            lots.allSatisfy { lot in (try? server.siteEvents(lot))?.count == 1 }
        }
        try await server.waitUntilRead(by: "gw-b")
        return (a, b)
    }

    @Test("a lot A holds is moved on B, which never saw it: B takes its spec from the site store and tags at once; A ends its placement at B's start time, audited naming gw-b; the site path agrees")
    func moveAcrossGateways() async throws {
        let server = try await PostgreSQLServer()
        let (a, b) = try await twoGateways(on: server, lotsOnA: ["LOT-1"])
        let move = try await b.lot(["move", "LOT-1", "--device", "INC-B1", "--note", "to cryo"])
        #expect(move.status == 0, "\(move.err)")
        #expect(move.out.contains("from gateway gw-a (INC-01, spec tight"), "\(move.out)")
        let moved = try #require(try await b.events("LOT-1").last)
        #expect(moved.action == .move && moved.spec == "tight")
        #expect(try await b.audit("lot_move").first?.contains("\"gateway\":\"gw-a\"") == true)
        // B's readings carry the lot from its move on.
        try await eventually("gw-b's readings to carry LOT-1", timeout: .seconds(10)) {
            try await b.tagged("INC-B1", lot: "LOT-1", since: moved.time + 1).tagged > 0
        }
        // A hears and ends its placement at B's start time, not when it heard.
        try await eventually("gw-a to end its placement", timeout: .seconds(30)) { try await a.events("LOT-1").last?.action == .left }
        let left = try #require(try await a.events("LOT-1").last)
        #expect(left.effective == moved.time)
        #expect(left.note?.contains("taken by gateway gw-b: its action #\(moved.id), move to INC-B1") == true, "\(left.note ?? "")")
        #expect(try await a.audit("lot_left").first?.contains("gw-b") == true)
        let show = try await a.lot(["show", "LOT-1"])
        #expect(show.out.contains("not on this gateway: taken by gateway gw-b"), "\(show.out)")
        // A's INC-01 no longer carries the lot once it has heard.
        try await eventually("gw-a's INC-01 readings without LOT-1", timeout: .seconds(10)) {
            let after = try await a.tagged("INC-01", lot: "LOT-1", since: left.time + 1)
            return after.all > 0 && after.tagged == 0
        }
        // At the site: A's placement ended at B's start.
        try await eventually("gw-a's left at the site", timeout: .seconds(30)) { (try? server.siteEvents("LOT-1"))?.count == 3 }
        let path = SitePath.fold(try server.siteEvents("LOT-1"))
        #expect(path.map(\.gateway) == ["gw-a", "gw-b"] && path[0].placement.end == moved.time && path[1].placement.end == nil)
        print("FIGURES lot moved on gw-b: gw-a ended its placement \(left.time - moved.time) ms after gw-b's move (forward + read interval 1 s each)")
        for gateway in [a, b] { try await gateway.stop() }
    }

    @Test("A cannot hear during the move (PostgreSQL stopped): B moves from what it last read and tags at once, A keeps its placement until it hears, then ends it at B's start; A stopped during a move ends it once restarted")
    func gatewayOfflineDuringMove() async throws {
        let server = try await PostgreSQLServer()
        let (a, b) = try await twoGateways(on: server, lotsOnA: ["LOT-1", "LOT-2"])

        try await server.stop()
        let started = ContinuousClock.now
        let move = try await b.lot(["move", "LOT-1", "--device", "INC-B1"])
        let took = ContinuousClock.now - started
        #expect(move.status == 0, "\(move.err)")
        #expect(took < .seconds(5), "the move waited on the site store: \(took)")
        let moved = try #require(try await b.events("LOT-1").last)
        try await eventually("gw-b's readings to carry LOT-1 with the site store down", timeout: .seconds(10)) {
            try await b.tagged("INC-B1", lot: "LOT-1", since: moved.time + 1).tagged > 0
        }
        // A lot gw-b never heard of cannot be placed from the site's record while it is down.
        try await eventually("gw-b to find the site store gone", timeout: .seconds(30)) {
            try await b.harness.cli(["status", "--config", b.harness.configPath]).out.contains("NOT CONNECTED")
        }
        let unknown = try await b.lot(["move", "LOT-9", "--device", "INC-B2"])
        #expect(unknown.status != 0 && unknown.err.contains("site store \(server.url) cannot be asked") && unknown.err.contains("--spec SPEC"), "\(unknown.err)")
        // A has not heard: it keeps its placement and its readings carry the lot.
        try await eventually("gw-a's INC-01 readings after the move", timeout: .seconds(10)) {
            let after = try await a.tagged("INC-01", lot: "LOT-1", since: moved.time + 2_000)
            return after.all > 0 && after.tagged == after.all
        }
        #expect(try await a.events("LOT-1").last?.action == .start)

        try server.start()
        try await server.waitUntilReady()
        let restarted = ContinuousClock.now
        try await eventually("gw-a to end its placement after the restart", timeout: .seconds(90)) {
            try await a.events("LOT-1").last?.action == .left
        }
        let heard = ContinuousClock.now - restarted
        let left = try #require(try await a.events("LOT-1").last)
        #expect(left.effective == moved.time, "the end is gw-b's start, not when gw-a heard")

        // A stopped while B takes LOT-2; restarted, it ends its placement.
        a.harness.daemon?.kill(SIGTERM)
        _ = try await a.harness.daemon?.wait(timeout: .seconds(30))
        let move2 = try await b.lot(["move", "LOT-2", "--device", "INC-B2"])
        #expect(move2.status == 0, "\(move2.err)")
        let moved2 = try #require(try await b.events("LOT-2").last)
        try a.harness.startDaemon(extra: [])
        let again = ContinuousClock.now
        try await eventually("gw-a to end LOT-2's placement once restarted", timeout: .seconds(60)) {
            try await a.events("LOT-2").last?.action == .left
        }
        let restartHeard = ContinuousClock.now - again
        #expect(try await a.events("LOT-2").last?.effective == moved2.time)
        print("FIGURES site store down during a move: gw-b's move took \(took), gw-a ended its placement \(heard) after PostgreSQL was back (\(left.time - moved.time) ms after the move); gw-a stopped during a move: ended it \(restartHeard) after its restart")
        for gateway in [a, b] { try await gateway.stop() }
    }

    @Test("both gateways act on one lot at once (A to its own INC-02, B takes it): the later start wins at site level; the other ends its placement when it hears")
    func bothAtOnce() async throws {
        let server = try await PostgreSQLServer()
        let (a, b) = try await twoGateways(on: server, lotsOnA: ["LOT-1"])
        let moveA = try a.harness.labgate(["lot", "move", "LOT-1", "--device", "INC-02", "--config", a.harness.configPath], name: "move-a")
        let moveB = try b.harness.labgate(["lot", "move", "LOT-1", "--device", "INC-B1", "--config", b.harness.configPath], name: "move-b")
        #expect(try await moveA.wait(timeout: .seconds(30)) == 0)
        #expect(try await moveB.wait(timeout: .seconds(30)) == 0)
        let timeA = try #require(try await a.events("LOT-1").last { $0.action == .move }).time
        let timeB = try #require(try await b.events("LOT-1").last { $0.action == .move }).time
        let (winner, loser, later) = (timeA, "gw-a") > (timeB, "gw-b") ? (a, b, timeA) : (b, a, timeB)
        try await eventually("\(loser.id) to end its placement", timeout: .seconds(30)) { try await loser.events("LOT-1").last?.action == .left }
        #expect(try await loser.events("LOT-1").last?.effective == later)
        #expect(try await winner.lot(["show", "LOT-1"]).out.contains("LOT-1  in "))
        #expect(try await loser.lot(["show", "LOT-1"]).out.contains("not on this gateway: taken by gateway \(winner.id)"))
        try await eventually("both at the site", timeout: .seconds(30)) { (try? server.siteEvents("LOT-1"))?.count == 4 }
        let path = SitePath.fold(try server.siteEvents("LOT-1"))
        #expect(path.last?.gateway == winner.id && path.last?.placement.end == nil && path.last?.placement.start == later)
        print("FIGURES both at once: gw-a moved at \(timeA), gw-b at \(timeB) (\(timeB - timeA) ms apart); \(winner.id) keeps the lot, \(loser.id) ended its placement")
        for gateway in [a, b] { try await gateway.stop() }
    }

    @Test("a move then voided (recorded for the wrong lot): B voids its move, A restores its placement by an audited void of its end, and the site path is A's placement alone")
    func moveVoided() async throws {
        let server = try await PostgreSQLServer()
        let (a, b) = try await twoGateways(on: server, lotsOnA: ["LOT-1"])
        #expect(try await b.lot(["move", "LOT-1", "--device", "INC-B1"]).status == 0)
        let moved = try #require(try await b.events("LOT-1").last)
        try await eventually("gw-a to end its placement", timeout: .seconds(30)) { try await a.events("LOT-1").last?.action == .left }
        let void = try await b.lot(["correct", "LOT-1", "--event", String(moved.id), "--void", "--reason", "wrong lot scanned"])
        #expect(void.status == 0, "\(void.err)")
        let voided = try #require(try await b.events("LOT-1").last)
        try await eventually("gw-a to restore its placement", timeout: .seconds(30)) { try await a.events("LOT-1").last?.action == .void }
        let restored = try #require(try await a.events("LOT-1").last)
        #expect(try await a.lot(["show", "LOT-1"]).out.contains("LOT-1  in INC-01 with spec tight"))
        #expect(try await a.audit("lot_void").first?.contains("no longer stands") == true)
        try await eventually("gw-a's INC-01 readings to carry LOT-1 again", timeout: .seconds(10)) {
            let after = try await a.tagged("INC-01", lot: "LOT-1", since: restored.time + 1)
            return after.all > 0 && after.tagged == after.all
        }
        try await eventually("both voids at the site", timeout: .seconds(30)) { (try? server.siteEvents("LOT-1"))?.count == 5 }
        let path = SitePath.fold(try server.siteEvents("LOT-1"))
        #expect(path.count == 1 && path[0].gateway == "gw-a" && path[0].placement.end == nil)
        print("FIGURES move voided on gw-b: gw-a restored its placement \(restored.time - voided.time) ms after the void")
        for gateway in [a, b] { try await gateway.stop() }
    }

    @Test("two gateways with one device id: the second is refused by the site store naming the device and both gateways, in its status; it keeps polling and storing")
    func deviceIdCollision() async throws {
        let server = try await PostgreSQLServer()
        let a = try LotGateway("gw-a", devices: ["INC-01", "INC-02"], server: server)
        let b = try LotGateway("gw-b", devices: ["INC-01", "INC-B2"], server: server)
        try await a.start()
        try await eventually("gw-a to forward", timeout: .seconds(60)) { server.confirmed("gw-a") > 0 }
        try await b.start()
        try await eventually("gw-b to be refused", timeout: .seconds(60)) {
            let status = try await b.harness.cli(["status", "--config", b.harness.configPath])
            return status.out.contains("device INC-01 is gateway gw-a's, and this gateway gw-b has a device of the same id")
        }
        let stored = try await ReadingStore(readingExisting: b.harness.storePath).pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 }
        try await eventually("gw-b to keep storing", timeout: .seconds(10)) {
            try await ReadingStore(readingExisting: b.harness.storePath).pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 } > stored + 20
        }
        // The forwarder logs it (a warning, once per outage), with both names.
        let log = (b.harness.daemon?.stderr ?? "") + (b.harness.daemon?.stdout ?? "")
        #expect(log.contains("device INC-01 is gateway gw-a's, and this gateway gw-b has a device of the same id"), "\(log.suffix(2000))")
        #expect(server.confirmed("gw-b") == 0)
        #expect(try server.rows("SELECT count(*) FROM reading WHERE gateway = 'gw-b'").first?.first == "0")
        #expect(try server.rows("SELECT gateway FROM gateway_device WHERE device = 'INC-01'").first?.first == "gw-a")
        #expect(server.confirmed("gw-a") > 0)
        for gateway in [a, b] { try await gateway.stop() }
    }
}
