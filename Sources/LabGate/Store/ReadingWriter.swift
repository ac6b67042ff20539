import Foundation
import GRDB

/// The store's single writer: collects readings and commits them in batched transactions.
/// A failed commit keeps the batch and retries it; nothing is dropped.
public actor ReadingWriter {
    private let store: ReadingStore
    private let batchSize: Int
    private var pending: [Reading] = []
    private var seriesIDs: [SeriesKey: Int64] = [:]
    private var lotSetIDs: [String: Int64] = [:]
    private var writing: Task<Known, any Error>?
    public private(set) var written = 0

    struct SeriesKey: Hashable, Sendable {
        var device: String
        var channel: String
    }

    /// Ids created by a commit, remembered so later batches need not look them up.
    struct Known: Sendable {
        var series: [SeriesKey: Int64] = [:]
        var lotSets: [String: Int64] = [:]
    }

    public init(store: ReadingStore, batchSize: Int = 1000) {
        self.store = store
        self.batchSize = batchSize
    }

    /// Queues readings; commits at once when a full batch is waiting.
    public func append(_ readings: [Reading]) async throws {
        pending.append(contentsOf: readings)
        if pending.count >= batchSize { try await flush() }
    }

    /// Readings accepted and waiting for a flush to take them.
    public var pendingCount: Int { pending.count }

    /// Commits everything queued in one transaction. Flushes run one at a time (the periodic
    /// flusher, a full batch and shutdown may ask at once); readings queued meanwhile wait for
    /// the next one. A failed commit puts its batch back in front of the queue.
    public func flush() async throws {
        while let running = writing {
            _ = await running.result
            if writing == running { writing = nil }
        }
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        let known = Known(series: seriesIDs, lotSets: lotSetIDs)
        let pool = store.pool
        // Not a child task: a flush that has begun is never cancelled halfway (shutdown cancels
        // the periodic flusher, and a cancelled write would leave the batch's fate unclear).
        let task = Task {
            try await pool.write { db in try Self.insert(batch, known: known, db: db) }
        }
        writing = task
        defer { if writing == task { writing = nil } }
        do {
            let created = try await task.value
            seriesIDs.merge(created.series) { old, _ in old }
            lotSetIDs.merge(created.lotSets) { old, _ in old }
            written += batch.count
        } catch {
            pending.insert(contentsOf: batch, at: 0)
            throw error
        }
    }

    /// Inserts a batch, each reading with its lot set, and seals it (see `ReadingSeal`) in the
    /// same transaction.
    private static func insert(_ batch: [Reading], known: Known, db: Database) throws -> Known {
        var ids = known
        var created = Known()
        let seal = try ReadingSeal.head(db: db).id + 1
        var digest = FieldDigest()
        let insert = try db.cachedStatement(
            sql: "INSERT INTO reading (series, time, value, quality, detail, lot_set, seal) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for reading in batch {
            let key = SeriesKey(device: reading.device, channel: reading.channel)
            let series: Int64
            if let id = ids.series[key] {
                series = id
            } else {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO series (device, channel) VALUES (?, ?)",
                    arguments: [key.device, key.channel])
                series = try Int64.fetchOne(
                    db, sql: "SELECT id FROM series WHERE device = ? AND channel = ?",
                    arguments: [key.device, key.channel])!
                ids.series[key] = series
                created.series[key] = series
            }
            let lots = reading.lots.isEmpty ? nil : reading.lots.sorted().joined(separator: ",")
            var lotSet: Int64?
            if let lots {
                if let id = ids.lotSets[lots] {
                    lotSet = id
                } else {
                    try db.execute(sql: "INSERT OR IGNORE INTO lot_set (lots) VALUES (?)", arguments: [lots])
                    let id = try Int64.fetchOne(db, sql: "SELECT id FROM lot_set WHERE lots = ?", arguments: [lots])!
                    ids.lotSets[lots] = id
                    created.lotSets[lots] = id
                    lotSet = id
                }
            }
            let time = reading.time.millisecondsSince1970
            try insert.execute(arguments: [
                series, time, reading.value, reading.quality.code, reading.detail, lotSet, seal,
            ])
            ReadingSeal.add(
                &digest, device: reading.device, channel: reading.channel, time: time, value: reading.value,
                quality: reading.quality.rawValue, detail: reading.detail, lots: lots)
        }
        try ReadingSeal.append(
            count: batch.count, digest: digest.hex(), time: Date().millisecondsSince1970, db: db, id: seal)
        return created
    }
}

extension Date {
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(millisecondsSince1970 ms: Int64) {
        self.init(timeIntervalSince1970: Double(ms) / 1000)
    }
}
