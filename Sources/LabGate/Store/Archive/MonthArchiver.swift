import Crypto
import Foundation
import GRDB

/// Moves the oldest month of readings, with their seals and seal entries, out of the live store
/// into a sealed archive file (`archive/readings-YYYY-MM.sqlite`, mode 0440), so that a
/// gateway's disk does not fill over the years. A month is the seals committed in it (UTC), so a
/// seal's readings are never split between files.
///
/// The order makes a kill at any point lose and duplicate nothing: the file is written as
/// `.partial`, synced, checked (every seal and reading re-hashed, chained to the live store's
/// heads), made read-only and renamed into place; only then does one transaction of the live
/// store record it (the `archive` row with the file's SHA-256, an audit entry naming file, hash
/// and counts, the heads the live chain continues from) and delete the moved rows. `recover()`
/// at start removes a `.partial` and a renamed file the store does not record (its rows are all
/// still live).
public struct MonthArchiver: Sendable {
    public struct Options: Sendable {
        /// How long after a month ended it may be moved.
        public var after: Duration
        /// With a site store: only a month whose every row the site store confirmed.
        public var requireSiteConfirmation: Bool
        public var user = "labgated"
        /// Tests: the archive file may grow to at most this many pages (SQLITE_FULL beyond, as
        /// on a full disk).
        package var maxPages: Int?
        /// Tests and `labgate store archive`: called at each stage of a move (a kill there).
        package var onStage: (@Sendable (Stage) -> Void)?

        public init(after: Duration, requireSiteConfirmation: Bool) {
            self.after = after
            self.requireSiteConfirmation = requireSiteConfirmation
        }
    }

    public enum Stage: String, Sendable, CaseIterable {
        /// The `.partial` file written and synced.
        case written
        /// Renamed into place, read-only; the live store not yet changed.
        case renamed
        /// The live store's transaction committed.
        case committed
    }

    /// The oldest live month: its seals and rows, and whether it may move now.
    public struct Candidate: Sendable, Equatable {
        public var month: String
        public var firstSeal: Int64
        public var lastSeal: Int64
        public var firstRow: Int64
        public var lastRow: Int64
        /// The first millisecond after the month.
        public var end: Int64
        /// Why it may not move yet; nil when it may.
        public var waiting: String?
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    let store: ReadingStore
    let options: Options
    public let folder: String

    public init(store: ReadingStore, options: Options) {
        self.store = store
        self.options = options
        folder = MonthArchive.folder(ofStore: store.path)
    }

    /// Moves every month that may move now, oldest first; returns what was moved.
    @discardableResult
    public func archiveDue(now: Date = Date()) throws -> [MonthArchive] {
        var moved: [MonthArchive] = []
        while let candidate = try candidate(now: now), candidate.waiting == nil {
            moved.append(try archive(candidate))
        }
        return moved
    }

    // MARK: Which month

    public func candidate(now: Date = Date()) throws -> Candidate? {
        try store.pool.read { db in try Self.candidate(db, now: now, options: options) }
    }

    static func candidate(_ db: Database, now: Date, options: Options) throws -> Candidate? {
        guard let first = try Row.fetchOne(db, sql: "SELECT id, time FROM reading_seal ORDER BY id LIMIT 1") else { return nil }
        let firstSeal: Int64 = first[0]
        let end = MonthArchive.end(ofMonthHolding: first[1])
        let lastSeal = try Int64.fetchOne(db, sql: "SELECT max(id) FROM reading_seal WHERE time < ?", arguments: [end]) ?? firstSeal
        let previousRow = try ArchivedHeads.row(db)
        let firstRow = try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM reading") ?? previousRow + 1
        let lastRow = try lastRow(db, firstRow: firstRow, firstSeal: firstSeal, lastSeal: lastSeal)
        var candidate = Candidate(
            month: MonthArchive.month(of: first[1]), firstSeal: firstSeal, lastSeal: lastSeal, firstRow: firstRow, lastRow: lastRow,
            end: end, waiting: nil)
        let due = Date(millisecondsSince1970: end).addingTimeInterval(options.after.seconds)
        if due > now {
            candidate.waiting = "\(candidate.month) may move from \(UTCTime.format(due)) (archive_after)"
        } else if options.requireSiteConfirmation, let missing = try unconfirmed(db, candidate) {
            candidate.waiting = "the site store has not confirmed \(missing) of \(candidate.month) yet"
        }
        return candidate
    }

    /// The last row of seals up to `lastSeal`: the writer numbers rows in commit order, so it is
    /// the first row plus the seals' counts, less one (checked; scanned for when it does not fit).
    static func lastRow(_ db: Database, firstRow: Int64, firstSeal: Int64, lastSeal: Int64) throws -> Int64 {
        let counted = try Int64.fetchOne(
            db, sql: "SELECT sum(count) FROM reading_seal WHERE id BETWEEN ? AND ?", arguments: [firstSeal, lastSeal]) ?? 0
        let guess = firstRow + counted - 1
        let sealAt = try db.makeStatement(sql: "SELECT seal FROM reading WHERE rowid = ?")
        let at = try Int64.fetchOne(sealAt, arguments: [guess])
        let after = try Int64.fetchOne(sealAt, arguments: [guess + 1])
        if counted == 0 { return firstRow - 1 }
        if let at, at <= lastSeal, after.map({ $0 > lastSeal }) ?? true { return guess }
        return try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM reading WHERE seal <= ?", arguments: [lastSeal]) ?? firstRow - 1
    }

    /// What of the month the site store has not confirmed (the forwarder's positions), or nil.
    static func unconfirmed(_ db: Database, _ candidate: Candidate) throws -> String? {
        var confirmed: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT stream, position FROM forward_position") { confirmed[row[0]] = row[1] }
        let lotEvents = try Int64.fetchOne(db, sql: "SELECT max(id) FROM lot_event WHERE time < ?", arguments: [candidate.end]) ?? 0
        let audit = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit WHERE time < ?", arguments: [candidate.end]) ?? 0
        let needed: [(String, String, Int64)] = [
            ("reading", "readings", candidate.lastRow), ("reading_seal", "seals", candidate.lastSeal),
            ("seal_series", "seal entries", candidate.lastSeal), ("lot_event", "lot events", lotEvents), ("audit", "audit entries", audit),
        ]
        let missing = needed.filter { (confirmed[$0.0] ?? 0) < $0.2 }.map(\.1)
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }

    // MARK: The move

    public func archive(_ candidate: Candidate) throws -> MonthArchive {
        try prepareFolder()
        let name = MonthArchive.fileName(month: candidate.month)
        let path = (folder as NSString).appendingPathComponent(name)
        let partial = path + ".partial"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Failure("month archive \(path) exists already (run recovery first)")
        }
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try write(candidate, to: partial)
            try Self.sync(path: partial)
            options.onStage?(.written)
            let counts = try check(partial, candidate)
            let sha = try Self.sha256(of: partial)
            guard chmod(partial, 0o440) == 0 else { throw Failure("cannot make \(partial) read-only: \(String(cString: strerror(errno)))") }
            guard rename(partial, path) == 0 else { throw Failure("cannot rename \(partial): \(String(cString: strerror(errno)))") }
            try Self.sync(path: folder)
            options.onStage?(.renamed)
            let archive = MonthArchive(
                month: candidate.month, file: name, sha256: sha, firstSeal: candidate.firstSeal, lastSeal: candidate.lastSeal,
                lastSealHash: counts.lastSealHash, firstRow: candidate.firstRow, lastRow: candidate.lastRow,
                readings: counts.readings, seals: counts.seals, entries: counts.entries, time: Date().millisecondsSince1970)
            do {
                try commit(archive)
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw error
            }
            options.onStage?(.committed)
            return archive
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// The archive folder: made 0750 if missing; refused if others may write it (they could
    /// replace a file).
    func prepareFolder() throws {
        if !FileManager.default.fileExists(atPath: folder) {
            guard mkdir(folder, 0o750) == 0 || errno == EEXIST else {
                throw Failure("cannot make archive folder \(folder): \(String(cString: strerror(errno)))")
            }
        }
        if let problem = ArchiveCheck.folderProblem(folder) { throw Failure(problem) }
    }

    private func write(_ candidate: Candidate, to partial: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: partial, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            if let pages = options.maxPages { try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
            try db.execute(sql: "ATTACH DATABASE ? AS live", arguments: [store.path])
            defer { try? db.execute(sql: "DETACH DATABASE live") }
            try db.inTransaction {
                try db.execute(sql: ArchiveTables.schema)
                let seals = (candidate.firstSeal, candidate.lastSeal)
                let rows = (candidate.firstRow, candidate.lastRow)
                for step in ArchiveTables.copy {
                    try db.execute(sql: step.sql, arguments: ArchiveTables.arguments(step.range, seals: seals, rows: rows))
                }
                try db.execute(
                    sql: "INSERT INTO archive_info VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        candidate.month, candidate.firstSeal, candidate.lastSeal, candidate.firstRow, candidate.lastRow, store.path,
                        Date().millisecondsSince1970,
                    ])
                return .commit
            }
        }
        try queue.close()
    }

    struct Counts {
        var readings: Int64
        var seals: Int64
        var entries: Int64
        var lastSealHash: String
    }

    /// The written file re-read: every seal and reading re-hashed, its chains following the
    /// live store's heads, its rows all the month's.
    private func check(_ path: String, _ candidate: Candidate) throws -> Counts {
        let start = try store.pool.read { db in
            (seal: try ArchivedHeads.seal(db), series: try ArchivedHeads.series(db),
             expected: try Int64.fetchOne(db, sql: "SELECT sum(count) FROM reading_seal WHERE id BETWEEN ? AND ?",
                arguments: [candidate.firstSeal, candidate.lastSeal]) ?? 0)
        }
        let result = try ArchiveCheck.checkFile(path, sealStart: start.seal, seriesStart: start.series)
        guard result.problems.isEmpty else {
            throw Failure("month archive \(path) does not check out: \(result.problems.prefix(3).joined(separator: "; "))")
        }
        guard result.readings == candidate.lastRow - candidate.firstRow + 1, result.readings == start.expected,
            result.seals == candidate.lastSeal - candidate.firstSeal + 1
        else {
            throw Failure("month archive \(path) holds \(result.readings) readings in \(result.seals) seals, not the month's \(start.expected)")
        }
        return Counts(readings: result.readings, seals: result.seals, entries: result.entries, lastSealHash: result.end.hash)
    }

    /// One transaction: the record, the audit entry, the heads, the deletion.
    private func commit(_ archive: MonthArchive) throws {
        // The month's rows still recent (a store not opened by the daemon since) go to the
        // clustered tables first, where the deletion finds them.
        _ = try store.pool.writeWithoutTransaction { db in try RecentMove.run(db) }
        try store.pool.write { db in
            guard try Int64.fetchOne(db, sql: "SELECT min(id) FROM reading_seal") == archive.firstSeal else {
                throw Failure("the store changed under the move of \(archive.month) (another move?)")
            }
            try archive.insert(db)
            let seals = (archive.firstSeal, archive.lastSeal)
            let rows = (archive.firstRow, archive.lastRow)
            for row in try Row.fetchAll(db, sql: ArchiveTables.seriesHeads, arguments: [archive.firstSeal, archive.lastSeal]) {
                try db.execute(
                    sql: "INSERT INTO archive_series_head (series, seal, hash) VALUES (?, ?, ?) ON CONFLICT(series) DO UPDATE SET seal = excluded.seal, hash = excluded.hash",
                    arguments: [row[0], row[1], row[2]])
            }
            try AuditTrail.append(
                AuditEntry.Draft(
                    user: options.user, action: "month_archived", object: "archive \(archive.month)", new: AuditJSON.encode(archive),
                    reason: "\(archive.readings) readings, \(archive.seals) seals, \(archive.entries) seal entries moved to \(archive.file) (SHA-256 \(archive.sha256))",
                    record: archive.record),
                db: db)
            for step in ArchiveTables.delete(recent: try RecentMove.hasRecent(db)) {
                try db.execute(sql: step.sql, arguments: ArchiveTables.arguments(step.range, seals: seals, rows: rows))
                guard Int64(db.changesCount) == step.counted.of(archive) else {
                    throw Failure("moving \(archive.month): \(step.sql) deleted \(db.changesCount) rows, not \(step.counted.of(archive))")
                }
            }
        }
    }

    // MARK: Start

    /// Finishes what an interrupted move left: a `.partial` file is removed; a file in place the
    /// store does not record is removed when the store still holds all its rows (the move had
    /// not committed), and named otherwise. Returns what it did, for the journal.
    @discardableResult
    public func recover() throws -> [String] {
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        var notes: [String] = []
        let recorded = Set(try store.pool.read { db in try MonthArchive.fetchAll(db) }.map(\.file))
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            let path = (folder as NSString).appendingPathComponent(name)
            if name.hasPrefix("readings-") && name.hasSuffix(".sqlite.partial") {
                try FileManager.default.removeItem(atPath: path)
                notes.append("removed \(path), left by an interrupted month archive")
            } else if name.hasPrefix("readings-") && name.hasSuffix(".sqlite"), !recorded.contains(name) {
                let info = (try? DatabaseQueue(path: path, configuration: Self.readOnly).read { db in
                    try Row.fetchOne(db, sql: "SELECT first_seal, last_seal FROM archive_info")
                }) ?? nil
                var stillLive = false
                if let info {
                    let first: Int64 = info[0]
                    let last: Int64 = info[1]
                    stillLive = try store.pool.read { db in
                        try Int64.fetchOne(db, sql: "SELECT count(*) FROM reading_seal WHERE id BETWEEN ? AND ?", arguments: [first, last])
                            == last - first + 1
                    }
                }
                if stillLive {
                    try FileManager.default.removeItem(atPath: path)
                    notes.append("removed \(path): its month's move was interrupted before the store recorded it (its rows are still in the store)")
                } else {
                    notes.append("\(path) is not recorded by the store and its rows are not in the store: left as it is")
                }
            }
        }
        return notes
    }

    static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }

    static func sync(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    /// The file's SHA-256, read in 1 MiB pieces.
    public static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data: data) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
