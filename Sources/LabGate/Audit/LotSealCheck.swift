import Foundation
import GRDB

/// One series over one interval of a lot: the readings a lot report stands on.
public struct LotWindow: Sendable, Hashable {
    public var series: Int64
    /// UTC milliseconds, `[from, to)`.
    public var from: Int64
    public var to: Int64

    public init(series: Int64, from: Int64, to: Int64) {
        self.series = series
        self.from = from
        self.to = to
    }
}

/// The integrity of a lot's readings at a cost that depends on the lot, not on the store: the
/// lot's series are re-hashed entry by entry (per-series seals, see `SealBuilder`), each entry
/// checked against its hash and chained to the one before; where a window's chain ends, its seal
/// is checked whole (its entries against its digest), and the seal chain itself by hashes. Other
/// devices' readings are never read. Readings in seals of the older format (a digest over the
/// whole batch) are checked by re-hashing their whole seal.
package enum LotSealCheck {
    struct Outcome {
        var problems: [String] = []
        /// Reading rows read (every one is re-hashed).
        var rowsVisited = 0
        /// Seal entries and older-format seals whose readings were re-hashed.
        var sealsChecked = 0
    }

    /// A stored reading's columns, as its seal covers them.
    private struct StoredRow {
        var rowid: Int64
        var time: Int64
        var value: Double?
        var quality: Int64
        var detail: String?
        var lotSet: Int64?
        var seal: Int64?
    }

    private static let rowColumns = "rowid, time, value, quality, detail, lot_set, seal"
    /// Entries per step of a walk: a chunk's table pages (about one per poll) stay in the
    /// connection's cache until the device's other channels have read them.
    private static let chunk = 256

    /// The readings of a window, gathered while they are re-hashed (a lot report's figures stand
    /// on the same rows as its integrity statement): those tagged with one of `lotSets`, with
    /// `time` in the window, in the order of the (series, time) index. nil for a store without
    /// per-series seals (its readings are not read window by window).
    package struct Gathered: Sendable {
        package var times: [Int64] = []
        package var values: [Double] = []
        package var qualities: [Quality] = []
    }

    static func check(
        _ db: Database, windows: [LotWindow], rows: SealedRows, layout: SealLayout, gather lotSets: Set<Int64>? = nil
    ) throws -> (outcome: Outcome, gathered: [Gathered?]) {
        var outcome = Outcome()
        var v1Checked: Set<Int64> = []
        var anchored: Set<Int64> = []
        let lookup = try StoredSeal.lookup(db, layout: layout)
        let sealEntries = layout.hasEntries
            ? try db.makeStatement(sql: "SELECT \(SealEntry.columns) FROM seal_series WHERE seal = ? ORDER BY series") : nil
        var walks: [Walk] = []
        if layout.hasEntries {
            // All windows' walks advance together, the one furthest behind in time first: the
            // channels of a device share their table pages (one poll, one batch), so each page
            // is read once while it is in the connection's cache, not once per channel.
            walks = try windows.map { try Walk(db, window: $0, rows: rows, lotSets: lotSets) }
            while let next = walks.indices.filter({ !walks[$0].done }).min(by: { walks[$0].covered < walks[$1].covered }) {
                try walks[next].step(db, rows: rows, outcome: &outcome)
            }
        }
        for (index, window) in windows.enumerated() {
            let name = rows.name(series: window.series)
            var extras: Set<Int64> = []
            var walked: Set<Int64> = []
            var anchor: SealEntry?
            if layout.hasEntries {
                outcome.problems += walks[index].problems
                extras = walks[index].extras
                walked = walks[index].walked
                anchor = walks[index].anchor
            } else {
                // No per-series seals at all: the window's readings name their seals.
                let statement = try db.makeStatement(
                    sql: "SELECT DISTINCT seal FROM reading WHERE series = ? AND time >= ? AND time < ?")
                for seal in try Int64?.fetchAll(statement, arguments: [window.series, window.from, window.to]) {
                    if let seal { extras.insert(seal) } else { outcome.problems.append("a reading of \(name) belongs to no seal (inserted behind the daemon's back)") }
                }
            }
            if let anchor, let sealEntries, anchored.insert(anchor.seal).inserted {
                guard let sealed = try StoredSeal.fetch(lookup, id: anchor.seal) else {
                    outcome.problems.append("reading seal \(anchor.seal), holding readings of \(name), is missing (deleted)")
                    continue
                }
                outcome.problems += try SealScan.checkEntries(of: sealed, sealEntries, rows: rows)
            }
            for seal in extras.subtracting(walked).sorted() {
                guard let sealed = try StoredSeal.fetch(lookup, id: seal) else {
                    outcome.problems.append("readings of \(name) claim seal \(seal), which does not exist (inserted behind the daemon's back)")
                    continue
                }
                if sealed.format == ReadingSeal.perSeries, let sealEntries {
                    // Readings of the window in a seal the walk did not reach (written late, after
                    // the window's chain ends): their entry, and that seal whole.
                    let entry = try Row.fetchOne(
                        db, sql: "SELECT \(SealEntry.columns) FROM seal_series WHERE seal = ? AND series = ?",
                        arguments: [seal, window.series]
                    ).map(SealEntry.init)
                    guard let entry else {
                        outcome.problems.append("readings of \(name) claim seal \(seal), whose entries do not name the series (inserted behind the daemon's back)")
                        continue
                    }
                    var found: [String] = []
                    var none: Gathered?
                    try checkEntryRows(
                        [entry], low: entry.first, high: entry.last, window: window, db: db, rows: rows, name: name,
                        outcome: &outcome, problems: &found, extras: &extras, gather: nil, into: &none)
                    outcome.problems += found
                    outcome.problems += try SealScan.checkEntries(of: sealed, sealEntries, rows: rows)
                } else if v1Checked.insert(seal).inserted {
                    try checkWholeSeal(sealed, db: db, rows: rows, outcome: &outcome)
                }
            }
        }
        return (outcome, layout.hasEntries && lotSets != nil ? walks.map(\.gathered) : windows.map { _ in nil })
    }

    /// One window's walk: its entries in seal order from the first that reaches into it to the
    /// first past it (the anchor), each checked against its hash and its predecessor and the
    /// readings of each against it, a chunk of entries per step. Its problems are kept apart, so
    /// that they read window by window however the walks were interleaved.
    private struct Walk {
        let window: LotWindow
        let name: String
        let lotSets: Set<Int64>?
        var problems: [String] = []
        var extras: Set<Int64> = []
        var walked: Set<Int64> = []
        var anchor: SealEntry?
        var previous: SealEntry?
        /// Every reading of the window before this time has been read: the chunks' spans run on
        /// from one another, so that readings in seals the walk does not reach (an older format,
        /// written late) are found too.
        var covered: Int64
        var done = false
        var gathered: Gathered?
        private let cursor: RowCursor

        init(_ db: Database, window: LotWindow, rows: SealedRows, lotSets: Set<Int64>?) throws {
            self.window = window
            name = rows.name(series: window.series)
            self.lotSets = lotSets
            covered = window.from
            gathered = lotSets.map { _ in Gathered() }
            // Asked of each table: through the `seal_series` view SQLite would sort every later
            // entry of the series to find the first (`RecentTablesMigration`).
            let start = try RecentMove.sealSeriesTables(db).compactMap { table in
                try Row.fetchOne(
                    db, sql: "SELECT last, seal FROM \(table) WHERE series = ? AND last >= ? ORDER BY last LIMIT 1",
                    arguments: [window.series, window.from]).map { (last: $0[0] as Int64, seal: $0[1] as Int64) }
            }.min { ($0.last, $0.seal) < ($1.last, $1.seal) }?.seal
            cursor = try Row.fetchCursor(
                db, sql: "SELECT \(SealEntry.columns) FROM seal_series WHERE series = ? AND seal >= ? ORDER BY seal",
                arguments: [window.series, start ?? Int64.max])
        }

        mutating func step(_ db: Database, rows: SealedRows, outcome: inout Outcome) throws {
            var batch: [SealEntry] = []
            var ended = true
            while let row = try cursor.next() {
                let entry = SealEntry(row)
                if entry.contentHash != entry.hash {
                    problems.append("reading seal \(entry.seal)'s entry for \(name) was changed: its content does not match its hash")
                }
                if let previous, entry.prev != previous.hash {
                    problems.append("reading seal \(entry.seal)'s entry for \(name) does not follow its entry in seal \(previous.seal) (an entry of the series was changed or deleted)")
                }
                previous = entry
                walked.insert(entry.seal)
                if entry.first >= window.to {
                    anchor = entry
                    break
                }
                batch.append(entry)
                if batch.count >= LotSealCheck.chunk {
                    ended = false
                    break
                }
            }
            if !batch.isEmpty { try check(batch, db: db, rows: rows, outcome: &outcome) }
            guard ended else { return }
            if covered < window.to { try check([], through: window.to - 1, db: db, rows: rows, outcome: &outcome) }
            anchor = anchor ?? previous
            done = true
        }

        private mutating func check(
            _ entries: [SealEntry], through end: Int64? = nil, db: Database, rows: SealedRows, outcome: inout Outcome
        ) throws {
            let high = end ?? max(entries.map(\.last).max() ?? covered, covered)
            // Readings before `covered` were gathered by an earlier chunk.
            let gather = lotSets.map { (from: covered, lotSets: $0) }
            try checkEntryRows(
                entries, low: min(covered, entries.map(\.first).min() ?? covered), high: high, window: window, db: db,
                rows: rows, name: name, outcome: &outcome, problems: &problems, extras: &extras, gather: gather,
                into: &gathered)
            covered = max(covered, high + 1)
        }
    }

    /// The readings of consecutive entries of one series, read through the (series, time) index
    /// over the entries' time span, against each entry. Readings of the window in other seals are
    /// added to `extras`.
    private static func checkEntryRows(
        _ entries: [SealEntry], low: Int64, high: Int64, window: LotWindow, db: Database, rows: SealedRows, name: String,
        outcome: inout Outcome, problems: inout [String], extras: inout Set<Int64>,
        gather: (from: Int64, lotSets: Set<Int64>)?, into gathered: inout Gathered?
    ) throws {
        guard low <= high else { return }
        var position: [Int64: Int] = [:]
        for (index, entry) in entries.enumerated() { position[entry.seal] = index }
        var found = [[StoredRow]](repeating: [], count: entries.count)
        let statement = try db.cachedStatement(
            sql: "SELECT \(rowColumns) FROM reading WHERE series = ? AND time BETWEEN ? AND ? ORDER BY time")
        statement.arguments = [window.series, low, high]
        let cursor = try Row.fetchCursor(statement)
        let row = statement.sqliteStatement
        let qualities = Quality.allCases  // (a computed array: not once per row)
        while try cursor.next() != nil {
            outcome.rowsVisited += 1
            let stored = StoredRow(
                rowid: Int64(sqliteStatement: row, index: 0), time: Int64(sqliteStatement: row, index: 1),
                value: Double.fromStatement(row, atUncheckedIndex: 2), quality: Int64(sqliteStatement: row, index: 3),
                detail: String.fromStatement(row, atUncheckedIndex: 4), lotSet: Int64.fromStatement(row, atUncheckedIndex: 5),
                seal: Int64.fromStatement(row, atUncheckedIndex: 6))
            if let gather, stored.time >= gather.from, stored.time >= window.from, stored.time < window.to,
                let lotSet = stored.lotSet, gather.lotSets.contains(lotSet)
            {
                let code = Int(stored.quality)
                gathered?.times.append(stored.time)
                gathered?.values.append(stored.value ?? .nan)
                gathered?.qualities.append(qualities.indices.contains(code) ? qualities[code] : .badResponse)
            }
            if let seal = stored.seal, let index = position[seal] {
                found[index].append(stored)
            } else if stored.time >= window.from && stored.time < window.to {
                if let seal = stored.seal {
                    extras.insert(seal)
                } else {
                    problems.append("reading row \(stored.rowid) (\(name)) belongs to no seal (inserted behind the daemon's back)")
                }
            }
        }
        for (index, entry) in entries.enumerated() {
            outcome.sealsChecked += 1
            var part = found[index]
            if zip(part, part.dropFirst()).contains(where: { $0.rowid > $1.rowid }) { part.sort { $0.rowid < $1.rowid } }
            var digest = FieldDigest(capacity: 512)
            for stored in part {
                _ = rows.add(
                    &digest, series: window.series, time: stored.time, value: stored.value, quality: stored.quality,
                    detail: stored.detail, lotSet: stored.lotSet)
            }
            if part.count != entry.count {
                let what = part.count < entry.count ? "\(entry.count - part.count) deleted" : "\(part.count - entry.count) added"
                problems.append("readings of \(name) in seal \(entry.seal): \(part.count) stored, \(entry.count) sealed — \(what)")
            } else if digest.hex() != entry.digest {
                problems.append("readings of \(name) in seal \(entry.seal) were changed: their digest does not match the seal")
            }
        }
    }

    /// A seal of the older format: every reading of its batch, whatever its series, re-hashed in
    /// row order (its rows are consecutive: one batch, one transaction).
    private static func checkWholeSeal(_ sealed: StoredSeal, db: Database, rows: SealedRows, outcome: inout Outcome) throws {
        outcome.sealsChecked += 1
        guard let some = try Int64.fetchOne(db, sql: "SELECT rowid FROM reading WHERE seal = ? LIMIT 1", arguments: [sealed.id]) else { return }
        var first = some
        let back = try Row.fetchCursor(
            db, sql: "SELECT rowid, seal FROM reading WHERE rowid < ? ORDER BY rowid DESC", arguments: [some])
        while let row = try back.next(), (row[1] as Int64?) == sealed.id { first = row[0] }
        let statement = try db.makeStatement(sql: SealedRows.sql + " WHERE rowid >= ? ORDER BY rowid")
        statement.arguments = [first]
        let cursor = try Row.fetchCursor(statement)
        let row = statement.sqliteStatement
        var digest = FieldDigest()
        var count = 0
        while try cursor.next() != nil {
            guard Int64.fromStatement(row, atUncheckedIndex: 6) == sealed.id else { break }
            outcome.rowsVisited += 1
            if rows.add(&digest, row: row) { count += 1 }
        }
        if count != sealed.count {
            let what = count < sealed.count ? "\(sealed.count - count) deleted" : "\(count - sealed.count) added"
            outcome.problems.append("readings of seal \(sealed.id) (committed \(sealed.when)): \(count) stored, \(sealed.count) sealed — \(what)")
        } else if digest.hex() != sealed.digest {
            outcome.problems.append("readings of seal \(sealed.id) (committed \(sealed.when)) were changed: their digest does not match the seal")
        }
    }
}

extension AuditVerifier {
    /// What a lot report states about the record: the audit chain, the chain of reading seals by
    /// their hashes, the lot's readings against their seals (`LotSealCheck`), and every lot event
    /// and deviation against the trail. `readings` counts the reading rows read. With `gather`
    /// (the lot's lot sets), also each window's readings, from the same rows (nil for a store
    /// without per-series seals: the caller reads those itself).
    package static func verifyLot(
        _ store: ReadingStore, windows: [LotWindow], gather lotSets: Set<Int64>? = nil, limit: Int = 20
    ) async throws -> (report: Report, sealsChecked: Int, gathered: [LotSealCheck.Gathered?]) {
        try await store.pool.read { db in
            var report = Report()
            var problems: [String] = []
            try checkAudit(db, &report, &problems)
            let layout = try SealLayout(db)
            // Seals moved to month archives: the chain is checked from the last of them on (the
            // archives by `audit verify`), and counted with them, as before they moved.
            let archived = try ArchivedHeads.seal(db)
            report.seals = try SealChain.check(db, layout: layout, &problems, start: archived)
                + Int(try ArchivedHeads.sealCount(db))
            // Room for a chunk's pages of every window (see `LotSealCheck.chunk`); put back after,
            // as the connection returns to the pool.
            let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
            try db.execute(sql: "PRAGMA cache_size = -8192")
            defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
            let (outcome, gathered) = try LotSealCheck.check(
                db, windows: windows, rows: try SealedRows(db: db), layout: layout, gather: lotSets)
            problems += outcome.problems
            report.readings = outcome.rowsVisited
            try checkRecords(db, &report, &problems)
            report.problems = Array(problems.prefix(limit))
            return (report, outcome.sealsChecked, gathered)
        }
    }
}
