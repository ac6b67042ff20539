import Foundation
import GRDB
import LabGate
import Logging
import SiteStore
import Testing
import TestSupport

/// Deviations, alarms and device statuses are rewritten as they go: the forwarder sends each one
/// when it changed and not again with every batch (at 250 devices the statuses alone were 250
/// JSON rows a second, read, built and sent whole).
@Suite("The forwarder sends only the records that changed", .serialized)
struct ForwardChangesTests {
    @Test("a changed deviation, alarm and status reach the site; unchanged ones are not sent again, not even by a new connection")
    func changedOnly() async throws {
        let server = try await PostgreSQLServer()
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        try await writer.append(siteTestReadings(count: 100))
        try await writer.flush()
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO deviation (id, record, state, device, start) VALUES ('DEV-1', '{\"n\": 1}', 'open', 'DEV-0', 1800000000000)")
            try db.execute(sql: "INSERT INTO alarm (id, record, state, deviation, raised) VALUES ('ALM-1', '{\"n\": 1}', 'raised', 'DEV-1', 1800000000000)")
        }
        let first = Date(timeIntervalSince1970: 1_800_000_100)
        try await DeviceStatusStore.save([DeviceStatus(device: "DEV-0", updated: first), DeviceStatus(device: "DEV-1", updated: first)], to: store)

        let state = ForwardState(gateway: "gw-a", url: server.url)
        var task = start(server: server, store: store, state: state)
        try await eventually("the records to reach the site", timeout: .seconds(60)) {
            (try? server.count("SELECT count(*) FROM deviation")) == 1 && (try? server.count("SELECT count(*) FROM alarm")) == 1
                && (try? server.count("SELECT count(*) FROM device_status")) == 2
        }
        try await eventually("the first batch to be counted") { state.snapshot.forwardedRecords == 4 }
        // New readings make new batches; the records did not change and are not in them.
        for round in 1...3 {
            try await writer.append(siteTestReadings(count: 10, start: Date(timeIntervalSince1970: 1_800_001_000 + Double(round) * 100)))
            try await writer.flush()
            try await eventually("readings of round \(round) to arrive", timeout: .seconds(30)) {
                (try? server.count("SELECT count(*) FROM reading")) == 100 + round * 10
            }
        }
        #expect(state.snapshot.batches >= 4)
        #expect(state.snapshot.forwardedRecords == 4, "unchanged records are not sent with every batch")

        // A deviation closed and one device's status rewritten: those two go, and only those.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE deviation SET record = '{\"n\": 2}', state = 'closed' WHERE id = 'DEV-1'")
        }
        try await DeviceStatusStore.save([DeviceStatus(device: "DEV-0", updated: first.addingTimeInterval(5))], to: store)
        try await eventually("the changes to reach the site", timeout: .seconds(30)) {
            (try? server.rows("SELECT state FROM deviation WHERE id = 'DEV-1'")) == [["closed"]]
                && (try? server.count("SELECT count(*) FROM device_status WHERE updated = to_timestamp(1800000105)")) == 1
        }
        try await eventually("the second batch to be counted") { state.snapshot.forwardedRecords == 6 }
        #expect(try server.count("SELECT count(*) FROM record_change WHERE kind = 'deviation' AND id = 'DEV-1'") == 2)
        task.cancel()
        await task.value

        // A new connection starts from what the site holds: nothing to send again.
        let again = ForwardState(gateway: "gw-a", url: server.url)
        task = start(server: server, store: store, state: again)
        defer { task.cancel() }
        try await writer.append(siteTestReadings(count: 10, start: Date(timeIntervalSince1970: 1_800_002_000)))
        try await writer.flush()
        try await eventually("the new connection's readings to arrive", timeout: .seconds(30)) {
            (try? server.count("SELECT count(*) FROM reading")) == 140
        }
        #expect(again.snapshot.forwardedRecords == 0)
        #expect(try server.count("SELECT count(*) FROM record_change") == 3)
    }

    private func start(server: PostgreSQLServer, store: ReadingStore, state: ForwardState) -> Task<Void, Never> {
        let forwarder = Forwarder(
            settings: server.settings, gateway: "gw-a", store: store, state: state, options: ForwarderTests.quick, logger: Logger(label: "test"))
        return Task { await forwarder.forwardUntilCancelled() }
    }
}
