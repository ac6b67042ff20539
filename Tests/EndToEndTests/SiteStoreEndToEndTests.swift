import Foundation
import Glibc
import GRDB
import LabGate
import Logging
import SiteStore
import Testing

/// Gateways forwarding to a real PostgreSQL 15 while it fails: stopped for 30 s and restarted, a
/// gateway killed -9 mid-forward, a server that accepts connections and never answers. After each,
/// the site store holds every gateway's readings row for row, none twice. FAULTS.md reports the
/// figures these tests print.

/// Two incubators polled every 200 ms (20 readings a second), forwarding as `gateway` to `server`.
/// Device ids are unique across a site: gw-a's are INC-01 and INC-02, gw-b's INC-B1 and INC-B2.
private func siteConfig(gateway: String, url: String, passwordFile: String) -> String {
    let (first, second) = gateway == "gw-a" ? ("INC-01", "INC-02") : ("INC-\(gateway.suffix(1).uppercased())1", "INC-\(gateway.suffix(1).uppercased())2")
    return """
    site: e2e-site
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    gateway: \(gateway)
    site_store: { url: "\(url)", tls: disable, password_file: \(passwordFile) }
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: \(first), kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
      - { id: \(second), kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms, timeout: 300ms, retries: 0 }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }

    """
}

/// One gateway: its folder, simulator and daemon.
private struct Gateway {
    let id: String
    let harness: Harness

    init(_ id: String, server: PostgreSQLServer, url: String? = nil) throws {
        self.id = id
        harness = try Harness(config: siteConfig(gateway: id, url: url ?? server.url, passwordFile: server.passwordFile))
    }

    func start() async throws {
        try await harness.startSim()
        try harness.startDaemon(extra: [])
    }

    func localNewest() async throws -> Int64 {
        try await ReadingStore(readingExisting: harness.storePath).pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce(max(rowid), 0) FROM reading") ?? 0
        }
    }

    /// Stops the daemon (SIGTERM: it flushes) and the simulator.
    func stop() async throws {
        harness.daemon?.kill(SIGTERM)
        _ = try await harness.daemon?.wait(timeout: .seconds(30))
        harness.sim?.kill(SIGTERM)
    }
}

extension PostgreSQLServer {
    func confirmed(_ gateway: String) -> Int64 {
        Int64((try? rows("SELECT position FROM forward_position WHERE gateway = '\(gateway)' AND stream = 'reading'"))?.first?.first ?? "") ?? 0
    }

    /// Every reading of `gateway` at the site, as (seq, device, channel, time ms, value, quality, detail, lot set).
    func readingLines(_ gateway: String) throws -> [String] {
        try rows("""
            SELECT r.seq, s.device, s.channel, (extract(epoch FROM r.time) * 1000)::bigint, coalesce(r.value::text, ''),
                r.quality, coalesce(r.detail, ''), coalesce(r.lot_set::text, '')
            FROM reading r JOIN series s ON s.gateway = r.gateway AND s.id = r.series
            WHERE r.gateway = '\(gateway)' ORDER BY r.seq
            """).map { $0.joined(separator: "|") }
    }

    var duplicates: Int {
        Int((try? rows("SELECT count(*) FROM (SELECT gateway, seq FROM reading GROUP BY 1, 2 HAVING count(*) > 1) d"))?.first?.first ?? "") ?? -1
    }
}

/// The same lines from a gateway's own store (values as PostgreSQL prints a double).
private func localLines(_ path: String) async throws -> [String] {
    try await ReadingStore(readingExisting: path).pool.read { db in
        try Row.fetchAll(db, sql: """
            SELECT reading.rowid, device, channel, time, value, quality, detail, lot_set
            FROM reading JOIN series ON series.id = reading.series ORDER BY reading.rowid
            """).map { row in
            let value: Double? = row[4]
            let detail: String? = row[6]
            let lotSet: Int64? = row[7]
            let number = value.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : $0.description } ?? ""
            return "\(row[0] as Int64)|\(row[1] as String)|\(row[2] as String)|\(row[3] as Int64)|\(number)|\(row[5] as Int64)|\(detail ?? "")|\(lotSet.map(String.init) ?? "")"
        }
    }
}

/// After a gateway's daemon stopped: forwards what it stored after its last batch (the same
/// forwarder a restarted daemon runs), then checks the site holds its store row for row.
private func drainAndCompare(_ gateway: Gateway, server: PostgreSQLServer) async throws {
    let store = try ReadingStore(readingExisting: gateway.harness.storePath)
    let newest = try await gateway.localNewest()
    var options = Forwarder.Options()
    options.interval = .milliseconds(100)
    let forwarder = Forwarder(
        settings: SiteStoreSettings(
            url: server.url, host: "127.0.0.1", port: server.port, user: server.user, database: server.database, tls: .disable,
            passwordFile: server.passwordFile),
        gateway: gateway.id, store: store, state: ForwardState(gateway: gateway.id, url: server.url), options: options,
        logger: Logger(label: "drain"))
    let task = Task { await forwarder.forwardUntilCancelled() }
    defer { task.cancel() }
    try await eventually("\(gateway.id)'s tail to be forwarded", timeout: .seconds(60)) { server.confirmed(gateway.id) >= newest }
    let local = try await localLines(gateway.harness.storePath)
    let site = try server.readingLines(gateway.id)
    #expect(site.count == local.count, "\(gateway.id): \(site.count) readings at the site, \(local.count) in its store")
    #expect(site == local, "\(gateway.id): the site store differs from the gateway's store")
}

@Suite("gateways forwarding to a real PostgreSQL through its failures", .serialized)
struct SiteStoreEndToEndTests {
    @Test("PostgreSQL stopped for 30 s and restarted mid-stream: both gateways keep storing, catch up, and the site holds both stores row for row")
    func postgresStoppedAndRestarted() async throws {
        let server = try await PostgreSQLServer()
        let gateways = [try Gateway("gw-a", server: server), try Gateway("gw-b", server: server)]
        for gateway in gateways { try await gateway.start() }
        for gateway in gateways {
            try await eventually("\(gateway.id) to forward", timeout: .seconds(60)) { server.confirmed(gateway.id) > 50 }
        }
        try await server.stop()
        let stopped = ContinuousClock.now
        let before = try await gateways.asyncMap { try await $0.localNewest() }
        try await Task.sleep(for: .seconds(30))
        let during = try await gateways.asyncMap { try await $0.localNewest() }
        for (index, gateway) in gateways.enumerated() {
            #expect(during[index] > before[index] + 300, "\(gateway.id) kept storing: \(before[index]) -> \(during[index])")
            let status = try await gateway.harness.cli(["status", "--config", gateway.harness.configPath])
            #expect(status.out.contains("NOT CONNECTED"), "\(status.out)")
        }
        try server.start()
        try await server.waitUntilReady()
        let restarted = ContinuousClock.now
        var catchUp: [Duration] = []
        for (index, gateway) in gateways.enumerated() {
            try await eventually("\(gateway.id) to catch up", timeout: .seconds(90)) { server.confirmed(gateway.id) >= during[index] }
            catchUp.append(ContinuousClock.now - restarted)
        }
        print("FIGURES postgres down \(restarted - stopped); backlog \(zip(during, before).map { $0 - $1 }) readings; caught up \(catchUp) after the restart")
        for gateway in gateways { try await gateway.stop() }
        for gateway in gateways { try await drainAndCompare(gateway, server: server) }
        #expect(server.duplicates == 0)
    }

    @Test("a gateway killed -9 mid-forward of a 200,000-reading backlog: restarted, it goes on from what PostgreSQL confirmed, nothing twice")
    func gatewayKilledMidForward() async throws {
        let server = try await PostgreSQLServer()
        let a = try Gateway("gw-a", server: server)
        let b = try Gateway("gw-b", server: server)
        // A backlog in gw-a's store before its daemon first runs (as after a long outage).
        do {
            let store = try ReadingStore(path: a.harness.storePath)
            let writer = ReadingWriter(store: store)
            let start = Date().addingTimeInterval(-86_400)
            for chunk in stride(from: 0, to: 200_000, by: 10_000) {
                try await writer.append((chunk..<chunk + 10_000).map { index in
                    Reading(device: "INC-0\(index % 2 + 1)", channel: index % 4 < 2 ? "temperature" : "co2",
                            time: start.addingTimeInterval(Double(index) * 0.2), value: 37 + Double(index % 100) / 100, quality: .good)
                })
            }
            try await writer.flush()
        }
        try await b.start()
        try await a.start()
        // Killed while a batch's transaction is open at PostgreSQL (after the first was confirmed).
        try await eventually("gw-a to be mid-forward", timeout: .seconds(60), interval: .milliseconds(5)) {
            let confirmed = server.confirmed("gw-a")
            guard confirmed > 0 && confirmed < 150_000 else { return false }
            let open = try server.rows("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = 'labgate' AND xact_start IS NOT NULL AND pid <> pg_backend_pid() AND query NOT LIKE '%forward_position%stream = %'
                """)
            return open.first?.first.flatMap(Int.init) ?? 0 > 0
        }
        a.harness.daemon?.kill(SIGKILL)
        let openAtKill = try server.rows("SELECT count(*) FROM pg_stat_activity WHERE datname = 'labgate' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()")
        _ = try await a.harness.daemon?.wait(timeout: .seconds(10))
        let atKill = server.confirmed("gw-a")
        try a.harness.startDaemon(extra: [])
        let restarted = ContinuousClock.now
        let restartedAt = Date()
        try await eventually("gw-a to catch up after the restart", timeout: .seconds(120)) { server.confirmed("gw-a") >= 200_000 }
        let caughtUpAt = Date()
        print("FIGURES killed -9 with \(atKill) of 200000 confirmed, transactions open just after the kill \(openAtKill); the rest forwarded \(ContinuousClock.now - restarted) after the restart")
        #expect(server.duplicates == 0)
        for gateway in [a, b] { try await gateway.stop() }
        // The catch-up is throttled: live polls (every 200 ms) went on being stored while it ran.
        let live = Set(try a.harness.readings(device: "INC-01").map(\.time).filter { $0 >= restartedAt && $0 <= caughtUpAt }).sorted()
        let longestGap = zip(live, live.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
        print("FIGURES live polls of INC-01 stored during the catch-up: \(live.count), longest gap \(longestGap) s")
        #expect(!live.isEmpty, "no live poll of INC-01 stored while the backlog was forwarded")
        #expect(longestGap < 1.5, "a gap of \(longestGap) s in INC-01's live polls while the backlog was forwarded")
        for gateway in [a, b] { try await drainAndCompare(gateway, server: server) }
    }

    @Test("a site store that accepts connections and never answers: the gateway keeps polling and storing, says so in status, stops promptly, and forwards everything once pointed at a real one")
    func silentServer() async throws {
        let server = try await PostgreSQLServer()
        let silent = try SilentListener()
        let gateway = try Gateway("gw-a", server: server, url: "postgres://labgate@127.0.0.1:\(silent.port)/labgate")
        let other = try Gateway("gw-b", server: server)
        try await other.start()
        try await gateway.start()
        try await Task.sleep(for: .seconds(15))
        let stored = try await gateway.localNewest()
        #expect(stored > 200, "polling and storing went on: \(stored) readings")
        let status = try await gateway.harness.cli(["status", "--config", gateway.harness.configPath])
        #expect(status.out.contains("NOT CONNECTED") && status.out.contains("last error"), "\(status.out)")
        let stopping = ContinuousClock.now
        try await gateway.stop()
        let stopTime = ContinuousClock.now - stopping
        #expect(stopTime < .seconds(10), "SIGTERM took \(stopTime)")
        print("FIGURES silent server: \(stored) readings stored in 15 s; status: \(status.out.split(separator: "\n").filter { $0.contains("error") }); SIGTERM took \(stopTime)")
        // Pointed at the real site store, it forwards everything it stored meanwhile.
        let text = try String(contentsOfFile: gateway.harness.configPath, encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:\(silent.port)", with: "127.0.0.1:\(server.port)")
        try text.write(toFile: gateway.harness.configPath, atomically: true, encoding: .utf8)
        try await gateway.start()
        try await eventually("gw-a to forward its backlog", timeout: .seconds(60)) { server.confirmed("gw-a") >= stored }
        for gateway in [gateway, other] { try await gateway.stop() }
        for gateway in [gateway, other] { try await drainAndCompare(gateway, server: server) }
        #expect(server.duplicates == 0)
    }
}

/// A loopback TCP listener that never accepts: the kernel completes each connection, nobody
/// ever answers (a hung database host, a firewall that swallows packets after the handshake).
private final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 64) == 0 else { throw HarnessError("silent listener: errno \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

@Suite("audit verify --site against a real PostgreSQL 15", .serialized)
struct SiteVerifyEndToEndTests {
    @Test("after forwarding, audit verify --site passes; a local store cut after forwarding is named against what the site holds (exit 4)")
    func cutLocalStoreDetected() async throws {
        let server = try await PostgreSQLServer()
        let gateway = try Gateway("gw-a", server: server)
        try await gateway.start()
        try await eventually("audit entries and seals at the site", timeout: .seconds(60)) {
            (try? server.rows("SELECT (SELECT count(*) FROM audit) >= 2 AND (SELECT count(*) FROM reading_seal) >= 3").first?.first) == "t"
        }
        try await gateway.stop()
        let good = try await gateway.harness.cli(["audit", "verify", "--site", "--config", gateway.harness.configPath])
        #expect(good.status == 0, "\(good.out)\(good.err)")
        #expect(good.out.contains("OK: every gateway's chains hold at the site"), "\(good.out)")
        // Cut behind labgate's back: triggers dropped, all but the first audit entry and seal deleted.
        try gateway.harness.sqlite(gateway.harness.storePath, """
            DROP TRIGGER audit_append_only_delete; DROP TRIGGER reading_seal_append_only_delete;
            DELETE FROM audit WHERE seq > 1; DELETE FROM reading_seal WHERE id > 1;
            """)
        let cut = try await gateway.harness.cli(["audit", "verify", "--site", "--config", gateway.harness.configPath])
        #expect(cut.status == 4, "\(cut.out)\(cut.err)")
        #expect(cut.out.contains("FAIL: gateway gw-a: the local store ends at audit entry 1, but the site store holds up to"), "\(cut.out)")
        #expect(cut.out.contains("FAIL: gateway gw-a: the local store ends at seal 1, but the site store holds up to"), "\(cut.out)")
        // Changed at the site: a forwarded audit entry's text edited in PostgreSQL.
        _ = try server.psql("UPDATE audit SET reason = 'edited' WHERE gateway = 'gw-a' AND seq = 1")
        let edited = try await gateway.harness.cli(["audit", "verify", "--site", "--config", gateway.harness.configPath])
        #expect(edited.out.contains("FAIL: gateway gw-a: audit entry 1 was changed at the site"), "\(edited.out)")
    }
}
