import Foundation
import GRDB
import LabGate
import Logging
import SiteStore
import Testing
import TestSupport

extension PostgreSQLServer {
    /// The daemon's `site_store` settings for this server.
    var settings: SiteStoreSettings {
        SiteStoreSettings(url: url, host: "127.0.0.1", port: port, user: user, database: database, tls: .disable, passwordFile: passwordFile)
    }
}

@Suite("The forwarder against a real PostgreSQL 15", .serialized)
struct ForwarderTests {
    static var quick: Forwarder.Options {
        var options = Forwarder.Options()
        options.interval = .milliseconds(50)
        options.batch = 1_000
        options.backoff = (.milliseconds(100), .milliseconds(500))
        options.deadline = .seconds(5)
        options.connectTimeout = .seconds(2)
        return options
    }

    /// gw-a's store with a backlog of 3,500 readings, and its forwarder to `server` running.
    func forwardingBacklog(
        to server: PostgreSQLServer, in folder: TemporaryFolder
    ) async throws -> (store: ReadingStore, writer: ReadingWriter, state: ForwardState, task: Task<Void, Never>) {
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        try await writer.append(siteTestReadings(count: 3_500))
        try await writer.flush()
        let state = ForwardState(gateway: "gw-a", url: server.url)
        let forwarder = Forwarder(settings: server.settings, gateway: "gw-a", store: store, state: state, options: Self.quick, logger: Logger(label: "test"))
        return (store, writer, state, Task { await forwarder.forwardUntilCancelled() })
    }

    @Test("a backlog is forwarded oldest first in batches, row for row, and new readings follow")
    func forwardsBacklog() async throws {
        let server = try await PostgreSQLServer()
        let folder = try TemporaryFolder()
        let (store, writer, state, task) = try await forwardingBacklog(to: server, in: folder)
        defer { task.cancel() }
        try await eventually("the backlog to reach the site store", timeout: .seconds(60)) {
            (try? server.count("SELECT count(*) FROM reading WHERE gateway = 'gw-a'")) == 3_500
        }
        #expect(try siteReadingLines(server, gateway: "gw-a") == (try await localReadingLines(store)))
        #expect(state.snapshot.batches >= 4, "1,000 readings a batch")
        try await writer.append(siteTestReadings(count: 10, start: Date(timeIntervalSince1970: 1_810_000_000)))
        try await writer.flush()
        try await eventually("new readings to follow", timeout: .seconds(30)) {
            (try? server.count("SELECT count(*) FROM reading WHERE gateway = 'gw-a'")) == 3_510
        }
        try await eventually("the lag to read 0", timeout: .seconds(10)) { state.snapshot.lagReadings == 0 }
        #expect(try server.count("SELECT position FROM forward_position WHERE gateway = 'gw-a' AND stream = 'reading'") == 3_510)
        #expect(try server.count("SELECT count(*) FROM reading_seal WHERE gateway = 'gw-a'") == (try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM reading_seal") }))
        #expect(try server.count("SELECT count(*) FROM anchor WHERE gateway = 'gw-a'") >= 1)
    }

    @Test("a site store already holding a row past the confirmed position (edited by hand) still takes the backlog, skipping that row")
    func rowPastPosition() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        _ = try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        try await connection.close()
        _ = try server.rows("SELECT labgate_reading_months(timestamptz '2027-01-01 00:00+00', timestamptz '2027-01-31 00:00+00')")
        // seq 5 at the time the gateway's fifth reading has: the same key, another quality.
        _ = try server.rows("INSERT INTO reading (gateway, seq, series, time, quality) VALUES ('gw-a', 5, 1, timestamptz '2027-01-15 08:00:02.250+00', 99)")
        let folder = try TemporaryFolder()
        let (store, _, _, task) = try await forwardingBacklog(to: server, in: folder)
        defer { task.cancel() }
        try await eventually("the backlog to reach the site store", timeout: .seconds(60)) {
            (try? server.count("SELECT position FROM forward_position WHERE gateway = 'gw-a' AND stream = 'reading'")) == 3_500
        }
        #expect(try server.count("SELECT count(*) FROM reading WHERE gateway = 'gw-a'") == 3_500)
        #expect(try server.count("SELECT quality FROM reading WHERE gateway = 'gw-a' AND seq = 5") == 99, "the row there is kept")
        let local = try await localReadingLines(store)
        let site = try siteReadingLines(server, gateway: "gw-a")
        #expect(site.count == 3_500)
        #expect(zip(site, local).filter { $0 != $1 }.count == 1, "every other row as the gateway holds it")
    }

    @Test("with PostgreSQL stopped the gateway keeps storing; after the restart it catches up without a duplicate")
    func catchesUpAfterOutage() async throws {
        let server = try await PostgreSQLServer()
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        try await writer.append(siteTestReadings(count: 500))
        try await writer.flush()
        let state = ForwardState(gateway: "gw-a", url: server.url)
        let forwarder = Forwarder(settings: server.settings, gateway: "gw-a", store: store, state: state, options: Self.quick, logger: Logger(label: "test"))
        let task = Task { await forwarder.forwardUntilCancelled() }
        defer { task.cancel() }
        try await eventually("the first readings to arrive", timeout: .seconds(60)) {
            (try? server.count("SELECT count(*) FROM reading")) == 500
        }
        try await server.stop()
        try await writer.append(siteTestReadings(count: 2_000, start: Date(timeIntervalSince1970: 1_805_000_000)))
        try await writer.flush()
        try await eventually("the lag to show the unforwarded readings", timeout: .seconds(30)) {
            state.snapshot.lagReadings == 2_000 && !state.snapshot.connected && state.snapshot.lastError != nil
        }
        try server.start()
        try await server.waitUntilReady()
        try await eventually("the gateway to catch up", timeout: .seconds(60)) {
            (try? server.count("SELECT count(*) FROM reading")) == 2_500
        }
        #expect(try siteReadingLines(server, gateway: "gw-a") == (try await localReadingLines(store)))
        #expect(try server.count("SELECT count(*) FROM (SELECT gateway, seq FROM reading GROUP BY 1, 2 HAVING count(*) > 1) d") == 0)
    }

    @Test("two gateways write side by side; a gateway restarted from scratch resends nothing twice")
    func twoGatewaysAndRestart() async throws {
        let server = try await PostgreSQLServer()
        var stores: [ReadingStore] = []
        var folders: [TemporaryFolder] = []
        for (index, gateway) in ["gw-a", "gw-b"].enumerated() {
            let folder = try TemporaryFolder()
            folders.append(folder)
            let store = try ReadingStore(path: folder.file("store.sqlite"))
            stores.append(store)
            let writer = ReadingWriter(store: store)
            try await writer.append(siteTestReadings(count: 1_200 + index * 300))
            try await writer.flush()
            let forwarder = Forwarder(
                settings: server.settings, gateway: gateway, store: store, state: ForwardState(gateway: gateway, url: server.url),
                options: Self.quick, logger: Logger(label: "test"))
            let task = Task { await forwarder.forwardUntilCancelled() }
            try await eventually("\(gateway) to be forwarded", timeout: .seconds(60)) {
                (try? server.count("SELECT count(*) FROM reading WHERE gateway = '\(gateway)'")) == 1_200 + index * 300
            }
            task.cancel()
        }
        // A new forwarder for gw-a starts from what PostgreSQL confirmed, not from 0.
        let state = ForwardState(gateway: "gw-a", url: server.url)
        let again = Forwarder(settings: server.settings, gateway: "gw-a", store: stores[0], state: state, options: Self.quick, logger: Logger(label: "test"))
        let task = Task { await again.forwardUntilCancelled() }
        defer { task.cancel() }
        try await eventually("the new forwarder to connect", timeout: .seconds(30)) { state.snapshot.connected }
        try await Task.sleep(for: .milliseconds(300))
        #expect(state.snapshot.forwardedReadings == 0)
        #expect(try siteReadingLines(server, gateway: "gw-a") == (try await localReadingLines(stores[0])))
        #expect(try siteReadingLines(server, gateway: "gw-b") == (try await localReadingLines(stores[1])))
    }
}
