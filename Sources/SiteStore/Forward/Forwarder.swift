import Foundation
import GRDB
import LabGate
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// Forwards this gateway's store to the site's PostgreSQL: at connect it reads from PostgreSQL
/// itself how far each stream was confirmed, then takes the local rows past that, oldest first,
/// in batches (COPY into staging tables, inserts that skip rows the site holds, positions in the
/// same transaction). It only reads the store (WAL: readers never block the writer) and runs on
/// its own: polling, tagging and alerting never wait on it. A catch-up pauses between batches so
/// that the store's writer and live data keep their share; a lost or silent server is dropped
/// after a deadline and retried with backoff.
public struct Forwarder: Service {
    public struct Options: Sendable {
        /// How often an idle forwarder looks for new rows. A quarter second: the daemon stores
        /// readings once a second, and a look costs a few indexed reads now that unchanged
        /// records are not re-read (at 1 s the live lag's p99 at 250 devices was 2.4 s).
        public var interval: Duration = .milliseconds(250)
        /// Readings per batch.
        public var batch: Int = 50_000
        /// The pause between backlog batches.
        public var pause: Duration = .milliseconds(5)
        /// How long a batch (or the connect and schema check) may take before the connection is dropped.
        public var deadline: Duration = .seconds(60)
        public var connectTimeout: Duration = .seconds(10)
        public var backoff = (first: Duration.seconds(1), maximum: Duration.seconds(30))
        /// How often where forwarding stands is written to the store (`labgate status`).
        public var statusInterval: Duration = .seconds(2)
        /// How often the other gateways' lot events are read back from the site store.
        public var siteLotsInterval: Duration = .seconds(1)
        public init() {}
    }

    let settings: SiteStoreSettings
    let gateway: String
    let store: ReadingStore
    let state: ForwardState
    let options: Options
    let logger: Logger
    /// This gateway's device ids, claimed at the site at each connect (empty: none claimed).
    let devices: [String]
    /// Where the other gateways' lot events go as they are read, and what follows them here.
    let siteLots: SiteLotView?
    let follow: (@Sendable () async -> Void)?

    public init(
        settings: SiteStoreSettings, gateway: String, store: ReadingStore, state: ForwardState, options: Options = .init(),
        devices: [String] = [], siteLots: SiteLotView? = nil, follow: (@Sendable () async -> Void)? = nil, logger: Logger
    ) {
        self.settings = settings
        self.gateway = gateway
        self.store = store
        self.state = state
        self.options = options
        self.devices = devices
        self.siteLots = siteLots
        self.follow = follow
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await forwardUntilCancelled()
        }
    }

    public func forwardUntilCancelled() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await forwardLoop() }
            group.addTask { await writeStatusLoop() }
            await group.next()
            group.cancelAll()
        }
        try? await ForwardStatusStore.write(state.status(), to: store)
    }

    /// Writes where forwarding stands to the store every few seconds, for `labgate status`.
    private func writeStatusLoop() async {
        var last: ForwardStatus?
        var lastPositions: [String: Int64] = [:]
        while !Task.isCancelled {
            // What the site store confirmed, for the month archives (`MonthArchiver`).
            let positions = state.confirmedPositions
            if positions != lastPositions, (try? await ForwardStatusStore.write(positions: positions, to: store)) != nil {
                lastPositions = positions
            }
            // The local end grows while the site store is away: the lag must show it.
            if let newest = try? await store.pool.read({ db in try RecentMove.maxRowid(db) }) {
                state.observedLocal(newest)
            }
            var status = state.status()
            let previous = last
            status.updated = previous?.updated ?? status.updated
            if status != previous {
                status.updated = Date()
                if (try? await ForwardStatusStore.write(status, to: store)) != nil { last = status }
            }
            try? await Task.sleep(for: options.statusInterval)
        }
    }

    private func forwardLoop() async {
        var backoff = options.backoff.first
        var failures = 0
        while !Task.isCancelled {
            do {
                try await session { backoff = options.backoff.first; failures = 0 }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                let text = "\(String(reflecting: error))"
                state.failed(text)
                siteLots?.failed(text)
                // Once per outage at warning, then quietly: a long outage must not fill the journal.
                if failures == 1 {
                    logger.warning("site store \(settings.url): \(text); retrying, storing locally meanwhile")
                } else {
                    logger.debug("site store \(settings.url): \(text)")
                }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, options.backoff.maximum)
            }
        }
    }

    /// One connection's life: connect, migrate, read the confirmed positions, forward until an error.
    private func session(connected: () -> Void) async throws {
        let connection = try await settings.connect(connectTimeout: options.connectTimeout, logger: logger)
        defer { Task { try? await connection.close() } }
        let writer = SiteWriter(connection: connection, gateway: gateway, logger: logger)
        var (positions, statuses) = try await withDeadline(connection) {
            try await SiteMigrator.migrate(connection, logger: logger)
            try await writer.prepare()
            if !devices.isEmpty { try await DeviceClaim(connection: connection, gateway: gateway, logger: logger).claim(devices) }
            return (try await writer.positions(), try await writer.statusesHeld())
        }
        state.confirmed(positions)
        state.connected(true)
        connected()
        logger.info("site store \(settings.url): connected as gateway \(gateway), readings confirmed up to \(positions["reading"] ?? 0)")
        let reader = SiteLotReader(connection: connection, gateway: gateway, logger: logger)
        var nextSiteRead = ContinuousClock.now
        var prefetched: LocalBatch?
        while !Task.isCancelled {
            if let siteLots, ContinuousClock.now >= nextSiteRead {
                let cursors = siteLots.cursors
                let events = try await withDeadline(connection) { try await reader.read(after: cursors) }
                siteLots.heard(events)
                nextSiteRead = .now + options.siteLotsInterval
                await follow?()
            }
            let limit = options.batch
            let batch: LocalBatch
            if let next = prefetched {
                batch = next
                prefetched = nil
            } else {
                batch = try await read(after: positions, statuses: statuses)
            }
            state.observed(local: batch.newestReading, confirmed: positions["reading"] ?? 0)
            if batch.isEmpty {
                try await Task.sleep(for: options.interval)
                continue
            }
            var reached = positions
            for part in batch.parts { reached[part.stream.name] = part.position }
            reached[LocalBatch.deviationChangeStream] = batch.deviationChange
            reached[LocalBatch.alarmChangeStream] = batch.alarmChange
            let sent = statuses.merging(batch.statusUpdated) { $1 }
            if batch.readings >= limit {
                // A backlog: the next batch is read from SQLite while this one is written (a
                // failed write drops it with the session).
                let after = reached
                async let next = read(after: after, statuses: sent)
                try await withDeadline(connection) { try await writer.write(batch) }
                prefetched = try await next
            } else {
                try await withDeadline(connection) { try await writer.write(batch) }
            }
            (positions, statuses) = (reached, sent)
            state.confirmed(positions)
            state.forwarded(readings: batch.readings, records: batch.changedRecords)
            state.observed(local: batch.newestReading, confirmed: positions["reading"] ?? 0)
            try await Task.sleep(for: batch.readings >= limit ? options.pause : options.interval)
        }
    }

    /// The next batch past `positions` from the store.
    private func read(after positions: [String: Int64], statuses: [String: Int64]) async throws -> LocalBatch {
        let (gateway, limit) = (gateway, options.batch)
        return try await store.pool.read { db in
            // Readings and seal entries are stored by series, and a batch takes them in rowid
            // order: a second's rows lie on a page per series (1,000 at 250 devices). With the
            // daemon's 512 KiB cache each row read its page again from the kernel (about half
            // the forwarder's CPU in a backlog); for the batch the connection keeps up to 32 MiB
            // of pages, then goes back to its own size (which frees them).
            let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2_000
            try db.execute(sql: "PRAGMA cache_size = -32768")
            defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
            return try LocalBatch.read(db, gateway: gateway, after: positions, statuses: statuses, readingLimit: limit)
        }
    }

    /// Runs `body`, closing the connection when it takes longer than the deadline (a server that
    /// accepts and never answers would otherwise hold the forwarder for ever).
    private func withDeadline<T: Sendable>(_ connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await SiteStore.withDeadline(options.deadline, abandon: { try? await connection.close() }, body)
    }
}
