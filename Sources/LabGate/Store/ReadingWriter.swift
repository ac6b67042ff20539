import DequeModule
import Foundation
import GRDB
import GRDBSQLite

/// The store's single writer: collects readings, and the other records the daemon keeps (deviation
/// changes, the deviation engine's state, its own audit entries: `StoreRecord`), and commits them
/// in order in batched transactions. A failed commit (a full disk, a locked or read-only store, an
/// I/O error) keeps its batch and retries it on the next flush. At most `capacity` readings and
/// records are held: past that the oldest readings are dropped (records only when nothing but
/// records is left), and each loss is written to the audit trail with the next commit that
/// succeeds (`readings_lost` per series, `records_lost`), so no loss is silent.
///
/// The pipeline never waits for a commit: it hands readings and records over with `accept` and
/// `hold`, which return at once, and asks for flushes with `startFlush`, which runs them in the
/// background; `flush` and `drain` wait, for shutdown and for callers that want back-pressure.
public actor ReadingWriter {
    private let store: ReadingStore
    private let batchSize: Int
    private let capacity: Int
    private let user: String
    /// Readings accepted and not yet taken by a commit, oldest first. A deque: while the store
    /// fails and the buffer is full, every poll drops as many of the oldest as it adds, which an
    /// array did by moving all the others (1 ms per poll at the default 200,000: BENCHMARKS.md).
    private var pending: Deque<Reading> = []
    /// Records held in order with the readings: each is committed after the readings that were
    /// in `pending` before it (`position`: how many) and before those that came after.
    private var records: [(position: Int, record: StoreRecord)] = []
    /// What records the buffer had to drop, not yet in the audit trail.
    private var lostRecords: [String] = []
    private var lost: [SeriesKey: LostInterval] = [:]
    private var failingSince: Date?
    private var change: HealthChange?
    private var seriesIDs: [SeriesKey: Int64] = [:]
    private var lotSetIDs: [String: Int64] = [:]
    private var sealHeads: [Int64: String] = [:]
    /// How often, and after how many readings at most, the recent readings are moved into the
    /// series-clustered tables (`RecentMove`): each series' tail is then written once per move.
    private let movePeriod: Duration
    private let moveReadings: Int
    private var lastMove = ContinuousClock.now
    private var unmoved = 0
    private var flushing = false
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    /// A background flush asked for by `startFlush` and not finished yet.
    private var flushRequested = false
    /// The batch of the commit under way: still uncommitted, so part of the backlog.
    private var inFlight: (count: Int, oldest: Date?, records: [String]) = (0, nil, [])
    private let observer: (any StoreObserver)?
    public private(set) var written = 0

    struct SeriesKey: Hashable, Sendable {
        var device: String
        var channel: String
    }

    /// Ids created by a commit, remembered so later batches need not look them up.
    struct Known: Sendable {
        var series: [SeriesKey: Int64] = [:]
        var lotSets: [String: Int64] = [:]
        /// Each series' last seal entry hash (the next entry's `prev`): a lookup per series and
        /// flush would read the recent entries back (`SealBuilder`).
        var sealHeads: [Int64: String] = [:]

        mutating func merge(_ other: Known) {
            series.merge(other.series) { old, _ in old }
            lotSets.merge(other.lotSets) { old, _ in old }
            sealHeads.merge(other.sealHeads) { _, new in new }
        }
    }

    /// Readings of one series dropped while the store could not be written.
    struct LostInterval: Sendable {
        var from: Int64
        var to: Int64
        var count: Int
    }

    /// The store stopped or started taking writes again; taken once by `takeHealthChange()`.
    public enum HealthChange: Sendable, Equatable {
        case failing(since: Date, error: String, held: Int)
        case recovered(failingSince: Date, written: Int, lost: Int)
    }

    /// What is still held and not committed (`unwritten()`, when the daemon stops).
    public struct Unwritten: Sendable, Equatable {
        public var readings: Int
        /// The held records' summaries, oldest first.
        public var records: [String]
        /// Readings and records dropped by the full buffer whose loss is not in the audit trail yet.
        public var lostReadings: Int
        public var lostRecords: [String]

        public var isEmpty: Bool { readings == 0 && records.isEmpty && lostReadings == 0 && lostRecords.isEmpty }
    }

    /// Readings that make `append` commit at once, without waiting for the periodic flush (the
    /// daemon's is every second, which bounds how long an accepted reading waits either way).
    /// Only a heavy load reaches it; then each commit (one fsync of the WAL) carries this many
    /// readings: at 1000 the fsyncs alone held the writer under 110,000 readings/s on a shared
    /// virtual disk (BENCHMARKS.md, store ingest).
    public static let defaultBatchSize = 10_000

    /// Two minutes: at 1000 series a move writes each series' tail once for ~120 readings and
    /// entries (BENCHMARKS.md, the daemon at scale), and a reader scans at most that many recent
    /// rows besides a series' stored ones.
    public static let defaultMovePeriod = Duration.seconds(120)
    public static let defaultMoveReadings = 200_000

    public init(
        store: ReadingStore, batchSize: Int = ReadingWriter.defaultBatchSize, capacity: Int = Config.defaultStoreBuffer,
        user: String = "labgate", observer: (any StoreObserver)? = nil,
        movePeriod: Duration = ReadingWriter.defaultMovePeriod, moveReadings: Int = ReadingWriter.defaultMoveReadings
    ) {
        self.movePeriod = movePeriod
        self.moveReadings = moveReadings
        self.observer = observer
        self.store = store
        self.batchSize = batchSize
        self.capacity = max(capacity, 1)
        self.user = user
    }

    /// Queues readings; commits at once, and waits for it, when a full batch is waiting (while the
    /// store is failing, only the periodic flush tries again). For callers that want back-pressure
    /// (benchmarks, tools); the daemon's pipeline uses `accept`.
    public func append(_ readings: [Reading]) async throws {
        pending.append(contentsOf: readings)
        dropOverflow()
        if pending.count >= batchSize, failingSince == nil { try await flush() }
    }

    /// Queues readings and returns at once; a full batch starts a commit in the background.
    public func accept(_ readings: [Reading]) {
        pending.append(contentsOf: readings)
        dropOverflow()
        if pending.count >= batchSize, failingSince == nil { startFlush() }
    }

    /// Queues a record after the readings queued so far, and returns at once. A keyed record
    /// replaces a waiting one with the same key (which a commit under way has not taken).
    public func hold(_ record: StoreRecord) {
        if let key = record.key { records.removeAll { $0.record.key == key } }
        records.append((pending.count, record))
        dropOverflow()
    }

    /// Starts a flush in the background unless one is under way or asked for already: against a
    /// locked store each attempt waits the busy timeout (5 s), and the pipeline asks every second,
    /// so queueing each request would pile up attempts (and hold a stop's drain behind them).
    public func startFlush() {
        guard !flushRequested, !flushing, hasWork else { return }
        flushRequested = true
        Task {
            try? await self.flush()
            self.endRequestedFlush()
        }
    }

    private func endRequestedFlush() { flushRequested = false }

    private var hasWork: Bool { !pending.isEmpty || !records.isEmpty || !lost.isEmpty || !lostRecords.isEmpty }

    /// Whether the last commit failed (and none has succeeded since).
    public var isFailing: Bool { failingSince != nil }

    /// Whether the store is taking writes, and what changed since last asked.
    public func takeHealthChange() -> HealthChange? {
        defer { change = nil }
        return change
    }

    /// Readings dropped because the buffer overflowed, not yet recorded in the audit trail (nor in
    /// a commit under way).
    public var lostCount: Int { lost.values.reduce(0) { $0 + $1.count } }

    private func dropOverflow() {
        let excess = pending.count + records.count - capacity
        guard excess > 0 else { return }
        let readings = min(excess, pending.count)
        if readings > 0 {
            for reading in pending.prefix(readings) {
                let key = SeriesKey(device: reading.device, channel: reading.channel)
                let time = reading.time.millisecondsSince1970
                if var interval = lost[key] {
                    interval.from = min(interval.from, time)
                    interval.to = max(interval.to, time)
                    interval.count += 1
                    lost[key] = interval
                } else {
                    lost[key] = LostInterval(from: time, to: time, count: 1)
                }
            }
            pending.removeFirst(readings)
            if !records.isEmpty {
                for index in records.indices { records[index].position = max(0, records[index].position - readings) }
            }
            observer?.dropped(readings: readings)
        }
        let dropped = excess - readings
        if dropped > 0 {
            lostRecords += records.prefix(dropped).map(\.record.summary)
            records.removeFirst(dropped)
        }
    }

    /// Readings accepted and waiting for a flush to take them.
    public var pendingCount: Int { pending.count }

    /// Records held and waiting for a flush to take them.
    public var heldRecords: Int { records.count }

    /// Everything accepted and not yet committed, and the time of its oldest reading.
    public func backlog() -> StoreBacklog {
        let queued = pending.lazy.map(\.time).min()
        let oldest = [queued, inFlight.oldest].compactMap { $0 }.min()
        return StoreBacklog(held: pending.count + inFlight.count, oldest: oldest)
    }

    /// What is held and not committed, counting a commit under way as not committed.
    public func unwritten() -> Unwritten {
        Unwritten(
            readings: pending.count + inFlight.count, records: inFlight.records + records.map(\.record.summary),
            lostReadings: lostCount, lostRecords: lostRecords)
    }

    /// Flushes until everything held is committed or `limit` has passed (a commit under way at
    /// the deadline is waited for: against a locked store, up to its busy timeout); whether all
    /// was written. For shutdown, which must not wait on a failing store forever.
    public func drain(within limit: Duration, retryEvery interval: Duration = .seconds(1)) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            do {
                try await flush()
                if !hasWork {
                    // The store is left with nothing recent: the next start need not move it.
                    try? await moveRecent()
                    return true
                }
            } catch {
                if clock.now >= deadline { return false }
                try? await clock.sleep(until: min(deadline, clock.now + interval))
            }
            if clock.now >= deadline && hasWork { return false }
        }
    }

    /// Commits everything queued in one transaction: the readings, the records between them in
    /// their order (each run of readings sealed as a batch of its own) and the audit entries of
    /// any loss. Flushes run one at a time (the periodic flusher, a full batch and shutdown may
    /// ask at once); what is queued meanwhile waits for the next one. A failed commit puts its
    /// readings and records back in front of the queue.
    public func flush() async throws {
        // One at a time, each to its very end (a failed one puts its batch back first): a flush
        // that began while another's commit was finishing would otherwise take what came after
        // that batch and could commit it before it.
        while flushing { await withCheckedContinuation { flushWaiters.append($0) } }
        flushing = true
        defer {
            flushing = false
            let waiters = flushWaiters
            flushWaiters = []
            for waiter in waiters { waiter.resume() }
            // A full batch came in meanwhile: its commit need not wait for the next tick.
            if waiters.isEmpty, pending.count >= batchSize, failingSince == nil { startFlush() }
        }
        guard hasWork else { return }
        let batch = pending
        // A new buffer as large, not the shared one emptied in place: Deque's removeAll(keepingCapacity:)
        // would first copy every reading of the batch (~0.6 MB at 250 devices; BENCHMARKS.md, scale).
        pending = Deque(minimumCapacity: batch.count)
        let held = records
        records.removeAll()
        let known = Known(series: seriesIDs, lotSets: lotSetIDs, sealHeads: sealHeads)
        let pool = store.pool
        let losses = lost.map { (key: $0.key, interval: $0.value) }
        lost.removeAll()
        let droppedRecords = lostRecords
        lostRecords.removeAll()
        let user = user
        // Not a child task: a flush that has begun is never cancelled halfway (shutdown cancels
        // the periodic flusher, and a cancelled write would leave the batch's fate unclear).
        let task = Task {
            try await pool.write { db in
                var known = known
                var created = Known()
                var done = 0
                for (position, record) in held {
                    if position > done {
                        let made = try Self.insert(batch[done..<position], known: known, db: db)
                        known.merge(made)
                        created.merge(made)
                        done = position
                    }
                    try record.write(db)
                }
                if done < batch.count {
                    created.merge(try Self.insert(batch[done...], known: known, db: db))
                }
                try Self.recordLosses(losses, user: user, db: db)
                try Self.recordLostRecords(droppedRecords, user: user, db: db)
                return created
            }
        }
        inFlight = (batch.count, batch.lazy.map(\.time).min(), held.map(\.record.summary))
        defer { inFlight = (0, nil, []) }
        do {
            let created = try await task.value
            seriesIDs.merge(created.series) { old, _ in old }
            lotSetIDs.merge(created.lotSets) { old, _ in old }
            sealHeads.merge(created.sealHeads) { _, new in new }
            written += batch.count
            unmoved += batch.count
            if !batch.isEmpty { observer?.committed(readings: batch.count) }
            let dropped = losses.reduce(0) { $0 + $1.interval.count }
            if let since = failingSince {
                failingSince = nil
                change = .recovered(failingSince: since, written: batch.count, lost: dropped)
            }
            if unmoved >= moveReadings || ContinuousClock.now - lastMove >= movePeriod {
                // A failed move leaves the rows recent (readers see them there): tried again later.
                try? await moveRecent()
            }
        } catch {
            // Records queued during the commit came after its readings.
            for index in records.indices { records[index].position += batch.count }
            records.insert(contentsOf: held, at: 0)
            pending.prepend(contentsOf: batch)
            // Losses not recorded: merged with those of the buffer since (same series: one interval).
            for loss in losses {
                if let later = lost[loss.key] {
                    lost[loss.key] = LostInterval(
                        from: min(loss.interval.from, later.from), to: max(loss.interval.to, later.to),
                        count: loss.interval.count + later.count)
                } else {
                    lost[loss.key] = loss.interval
                }
            }
            lostRecords.insert(contentsOf: droppedRecords, at: 0)
            dropOverflow()
            if failingSince == nil {
                let since = Date()
                failingSince = since
                change = .failing(since: since, error: "\(error)", held: pending.count)
            }
            throw error
        }
    }

    /// Moves the recent readings and seal entries into the series-clustered tables (`RecentMove`).
    /// Runs within a flush or a drain, so no commit of the writer's is under way meanwhile.
    func moveRecent() async throws {
        lastMove = ContinuousClock.now
        let pool = store.pool
        try await Task { try await pool.writeWithoutTransaction { db in _ = try RecentMove.run(db) } }.value
        unmoved = 0
    }

    /// One audit entry for the records the full buffer dropped: what they were, and why.
    private static func recordLostRecords(_ summaries: [String], user: String, db: Database) throws {
        guard !summaries.isEmpty else { return }
        let detail = AuditJSON.encode([
            "count": String(summaries.count),
            "records": summaries.joined(separator: "\n"),
            "reason": "the store could not be written and the memory buffer was full",
        ])
        _ = try AuditTrail.append(
            AuditEntry.Draft(user: user, action: "records_lost", object: "store", new: detail), db: db)
    }

    /// One audit entry per series whose readings were dropped: the interval, how many, and why.
    private static func recordLosses(
        _ losses: [(key: SeriesKey, interval: LostInterval)], user: String, db: Database
    ) throws {
        for (key, interval) in losses.sorted(by: { ($0.key.device, $0.key.channel) < ($1.key.device, $1.key.channel) }) {
            let detail = AuditJSON.encode([
                "from": UTCTime.format(Date(millisecondsSince1970: interval.from)),
                "to": UTCTime.format(Date(millisecondsSince1970: interval.to)),
                "count": String(interval.count),
                "reason": "the store could not be written and the memory buffer was full",
            ])
            let draft = AuditEntry.Draft(
                user: user, action: "readings_lost", object: "series \(key.device) \(key.channel)", new: detail)
            _ = try AuditTrail.append(draft, db: db)
        }
    }

    /// Inserts a batch, each reading with its lot set, and seals it per series (see `SealBuilder`)
    /// in the same transaction.
    ///
    /// The loop binds each row through SQLite's C API on GRDB's prepared statement: building a
    /// `StatementArguments` of boxed values per reading cost more than the insert itself
    /// (BENCHMARKS.md, store ingest).
    static func insert(
        _ batch: Slice<Deque<Reading>>, known: Known, db: Database, sealedAt: Int64 = Date().millisecondsSince1970
    ) throws -> Known {
        var ids = known
        var created = Known()
        let seal = try ReadingSeal.head(db: db).id + 1
        var sealing = SealBuilder()
        // Rows are numbered in the order written (`SeriesLayoutMigration`): a seal covers its rows in
        // that order.
        // Numbers go on from the last archived row when the live store holds none (`MonthArchiver`).
        var rowid = try RecentMove.maxRowid(db)
        if rowid == 0 { rowid = try ArchivedHeads.row(db) }
        // Appended to the recent readings where the store has them (`RecentTablesMigration`),
        // unless the batch holds many readings of each series (a backlog, a bulk load): those fill
        // pages of their series' own, written in place at once rather than written twice.
        let recent = try RecentMove.hasRecent(db)
        var inPlace = false
        if recent, batch.count >= Self.inPlacePerSeries {
            var keys = Set<SeriesKey>()
            for reading in batch { keys.insert(SeriesKey(device: reading.device, channel: reading.channel)) }
            inPlace = batch.count >= Self.inPlacePerSeries * keys.count
        }
        let table = !recent ? "reading" : inPlace ? "reading_stored" : "reading_recent"
        let insert = try db.cachedStatement(
            sql: "INSERT INTO \(table) (rowid, series, time, value, quality, detail, lot_set, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        // The readings of one poll share their lots: join them once per run of equal lot lists.
        var previousLots: [String] = []
        var previousLotsText: String?
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
            let lots: String?
            if reading.lots.isEmpty {
                lots = nil
            } else if reading.lots == previousLots, let text = previousLotsText {
                lots = text
            } else {
                lots = reading.lots.sorted().joined(separator: ",")
                previousLots = reading.lots
                previousLotsText = lots
            }
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
            rowid += 1
            try Self.insertRow(
                insert.sqliteStatement, db: db, rowid: rowid, series: series, time: time, value: reading.value,
                quality: reading.quality.code, detail: reading.detail, lotSet: lotSet, seal: seal)
            sealing.add(
                series: series, device: reading.device, channel: reading.channel, time: time, value: reading.value,
                quality: reading.quality.rawValue, detail: reading.detail, lots: lots)
        }
        var heads = ids.sealHeads
        try sealing.append(seal: seal, time: sealedAt, db: db, heads: &heads, inPlace: inPlace)
        created.sealHeads = heads
        return created
    }

    /// Readings per series, on average, from which a batch is written into the series-clustered
    /// tables directly: ~64 readings fill a page of a series' own (BENCHMARKS.md, store ingest).
    static let inPlacePerSeries = 64

    /// `insert` of an array (tests: a store at an earlier schema written by the writer's code).
    static func insert(_ readings: [Reading], known: Known, db: Database, sealedAt: Int64) throws -> Known {
        try insert(Deque(readings)[...], known: known, db: db, sealedAt: sealedAt)
    }

    /// SQLite copies bound text at once (the Swift string's storage is not kept).
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Binds one row to the prepared reading INSERT, runs it and resets it; an error is thrown as
    /// GRDB would throw it (a full disk is `SQLITE_FULL`).
    private static func insertRow(
        _ statement: SQLiteStatement, db: Database, rowid: Int64, series: Int64, time: Int64, value: Double?, quality: Int,
        detail: String?, lotSet: Int64?, seal: Int64
    ) throws {
        sqlite3_bind_int64(statement, 1, rowid)
        sqlite3_bind_int64(statement, 2, series)
        sqlite3_bind_int64(statement, 3, time)
        if let value { sqlite3_bind_double(statement, 4, value) } else { sqlite3_bind_null(statement, 4) }
        sqlite3_bind_int64(statement, 5, Int64(quality))
        if var detail {
            detail.withUTF8 { text in
                _ = text.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text(statement, 6, $0.baseAddress, Int32(text.count), transient)
                }
            }
        } else {
            sqlite3_bind_null(statement, 6)
        }
        if let lotSet { sqlite3_bind_int64(statement, 7, lotSet) } else { sqlite3_bind_null(statement, 7) }
        sqlite3_bind_int64(statement, 8, seal)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: message, sql: String(cString: sqlite3_sql(statement)))
        }
        sqlite3_reset(statement)
    }
}

extension Date {
    package var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    package init(millisecondsSince1970 ms: Int64) {
        self.init(timeIntervalSince1970: Double(ms) / 1000)
    }
}
