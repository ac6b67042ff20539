import Foundation
import GRDB

/// Which seal formats a store can hold: one never opened by a labgate with per-series seals
/// (opened read-only, not migrated) has neither the `format` column nor `seal_series`.
struct SealLayout: Sendable {
    var hasEntries: Bool
    var hasFormat: Bool

    init(_ db: Database) throws {
        // A view over the stored and the recent entries since `RecentTablesMigration`.
        hasEntries = try db.tableExists("seal_series") || db.viewExists("seal_series")
        hasFormat = try db.columns(in: "reading_seal").contains { $0.name == "format" }
    }

    var formatColumn: String { hasFormat ? "format" : "NULL" }
}

/// A seal as stored.
struct StoredSeal: Sendable {
    var id: Int64
    var time: Int64
    var count: Int
    var digest: String
    var format: Int64?

    var when: String { UTCTime.format(Date(millisecondsSince1970: time)) }

    static func fetch(_ statement: Statement, id: Int64) throws -> StoredSeal? {
        try Row.fetchOne(statement, arguments: [id]).map { row in
            StoredSeal(id: id, time: row[0], count: row[1], digest: row[2], format: row[3])
        }
    }

    static func lookup(_ db: Database, layout: SealLayout) throws -> Statement {
        try db.makeStatement(sql: "SELECT time, count, digest, \(layout.formatColumn) FROM reading_seal WHERE id = ?")
    }
}

/// One `seal_series` entry.
struct SealEntry: Sendable {
    var seal: Int64
    var series: Int64
    var count: Int
    var first: Int64
    var last: Int64
    var digest: String
    var prev: String
    var hash: String

    static let columns = "seal, series, count, first, last, digest, prev, hash"

    init(_ row: Row) {
        seal = row[0]
        series = row[1]
        count = row[2]
        first = row[3]
        last = row[4]
        digest = row[5]
        prev = row[6]
        hash = row[7]
    }

    var contentHash: String {
        SealBuilder.entryHash(seal: seal, series: series, count: count, first: first, last: last, digest: digest, prev: prev)
    }
}

/// The chain of seals, by their hashes alone (no reading is read), and each series' chain of
/// entries; streamed, a row at a time.
enum SealChain {
    /// Checks each seal after `start` (the last seal moved to a month archive, or none) against its
    /// hash and its predecessor; returns how many there are.
    static func check(
        _ db: Database, layout: SealLayout, _ problems: inout [String], start: (id: Int64, hash: String) = (0, FieldDigest.zero)
    ) throws -> Int {
        var expected: Int64 = start.id + 1
        var prev = start.hash
        var seals = 0
        let cursor = try Row.fetchCursor(
            db, sql: "SELECT id, time, count, digest, prev, hash, \(layout.formatColumn) FROM reading_seal WHERE id > ? ORDER BY id",
            arguments: [start.id])
        while let row = try cursor.next() {
            let id: Int64 = row[0]
            let hash: String = row[5]
            let stored: String = row[4]
            seals += 1
            if id != expected {
                problems.append(SealGap.missing(from: expected, to: id - 1))
            } else if stored != prev {
                problems.append("reading seal \(id) does not follow seal \(id - 1) (seal \(id - 1) was changed or replaced)")
            }
            if ReadingSeal.hash(id: id, time: row[1], count: row[2], digest: row[3], prev: stored, format: row[6]) != hash {
                problems.append("reading seal \(id) was changed: its content does not match its hash")
            }
            expected = id + 1
            prev = hash
        }
        return seals
    }

    /// Each series' entries follow one another: an entry deleted, or replaced by one not chained
    /// to its predecessor, breaks the series' chain. A series' first entry follows its head in
    /// `heads` (what month archives left), or nothing; nil heads: the first entries are not
    /// judged (the archive before is missing).
    static func checkSeriesChains(
        _ db: Database, layout: SealLayout, rows: SealedRows, _ problems: inout [String], heads: [Int64: String]? = [:]
    ) throws {
        guard layout.hasEntries else { return }
        let cursor = try Row.fetchCursor(db, sql: "SELECT series, seal, prev, hash FROM seal_series ORDER BY series, seal")
        var previous: (series: Int64, seal: Int64, hash: String)?
        while let row = try cursor.next() {
            let series: Int64 = row[0]
            let seal: Int64 = row[1]
            let prev: String = row[2]
            let first = previous?.series != series
            let expected = first ? heads?[series] ?? FieldDigest.zero : previous!.hash
            if prev != expected && !(first && heads == nil) {
                let after = !first ? "its entry in seal \(previous!.seal)" : heads?[series] != nil ? "its last archived entry" : "nothing"
                problems.append("reading seal \(seal)'s entry for \(rows.name(series: series)) does not follow \(after) (an entry of the series was changed or deleted)")
            }
            previous = (series, seal, row[3])
        }
    }
}

/// The readings of one row range against their seals, in row order, seal by seal: memory holds
/// one seal's digests, not the store's.
enum SealScan {
    struct Result: Sendable {
        var problems: [String] = []
        /// The first and last seal whose readings the range holds.
        var first: Int64?
        var last: Int64?
        var readings = 0
    }

    /// The readings of one seal as the scan found them.
    private struct Run {
        var seal: StoredSeal?
        var id: Int64
        var count = 0
        var digest = FieldDigest()
        var parts: [Int64: Part] = [:]
        var span = SealGap.Span()
    }

    struct Part {
        var digest = FieldDigest(capacity: 512)
        var count = 0
        var first = Int64.max
        var last = Int64.min

        mutating func note(_ time: Int64) {
            count += 1
            first = min(first, time)
            last = max(last, time)
        }
    }

    static func scan(_ db: Database, rows: SealedRows, layout: SealLayout, range: ClosedRange<Int64>) throws -> Result {
        var result = Result()
        let lookup = try StoredSeal.lookup(db, layout: layout)
        let entries = layout.hasEntries
            ? try db.makeStatement(sql: "SELECT \(SealEntry.columns) FROM seal_series WHERE seal = ? ORDER BY series") : nil
        var run: Run?
        var finished: Int64?
        let head = try ReadingSeal.head(db: db).id
        func finish() throws {
            guard let done = run else { return }
            result.problems += try judge(done, entries: entries, rows: rows, head: head)
            finished = done.id
        }
        let statement = try db.makeStatement(sql: SealedRows.sql + " WHERE rowid BETWEEN ? AND ? ORDER BY rowid")
        statement.arguments = [range.lowerBound, range.upperBound]
        let cursor = try Row.fetchCursor(statement)
        let row = statement.sqliteStatement
        while try cursor.next() != nil {
            result.readings += 1
            guard let seal = Int64.fromStatement(row, atUncheckedIndex: 6) else {
                let rowid = Int64(sqliteStatement: row, index: 7)
                result.problems.append("reading row \(rowid) (\(rows.name(row))) belongs to no seal (inserted behind the daemon's back)")
                continue
            }
            if seal != run?.id {
                try finish()
                if let finished {
                    if seal <= finished {
                        result.problems.append("readings of seal \(seal) are out of place (inserted behind the daemon's back)")
                    } else {
                        result.problems += try between(db, after: finished, before: seal)
                    }
                }
                result.first = result.first ?? seal
                result.last = max(result.last ?? seal, seal)
                run = Run(seal: try StoredSeal.fetch(lookup, id: seal), id: seal)
            }
            run!.span.note(row: Int64(sqliteStatement: row, index: 7), time: Int64(sqliteStatement: row, index: 1))
            let added: Bool
            if run!.seal?.format == ReadingSeal.perSeries {
                let series = Int64(sqliteStatement: row, index: 0)
                let time = Int64(sqliteStatement: row, index: 1)
                added = rows.add(&run!.parts[series, default: Part()].digest, row: row)
                if added { run!.parts[series]!.note(time) }
            } else {
                added = rows.add(&run!.digest, row: row)
            }
            if added {
                run!.count += 1
            } else {
                let rowid = Int64(sqliteStatement: row, index: 7)
                result.problems.append("reading row \(rowid) (\(rows.name(row))) names a series that does not exist (changed behind the daemon's back)")
            }
        }
        try finish()
        return result
    }

    /// A run of readings against the seal it claims.
    private static func judge(_ run: Run, entries: Statement?, rows: SealedRows, head: Int64) throws -> [String] {
        guard let sealed = run.seal else {
            return [SealGap.uncovered(run.span, seal: run.id, head: head)]
        }
        if run.count != sealed.count {
            let what = run.count < sealed.count ? "\(sealed.count - run.count) deleted" : "\(run.count - sealed.count) added"
            return ["readings of seal \(sealed.id) (committed \(sealed.when)): \(run.count) stored, \(sealed.count) sealed — \(what)"]
        }
        let changed = "readings of seal \(sealed.id) (committed \(sealed.when)) were changed: their digest does not match the seal"
        guard sealed.format == ReadingSeal.perSeries else {
            return run.digest.hex() == sealed.digest ? [] : [changed]
        }
        guard let entries else { return ["reading seal \(sealed.id) is sealed per series, but the store has no seal_series table"] }
        var problems = try checkEntries(of: sealed, entries, rows: rows)
        var matches = true
        var seen = 0
        for entry in try Row.fetchAll(entries, arguments: [sealed.id]).map(SealEntry.init) {
            seen += 1
            guard let part = run.parts[entry.series], part.count == entry.count, part.first == entry.first,
                part.last == entry.last, part.digest.hex() == entry.digest
            else {
                matches = false
                continue
            }
        }
        if !matches || seen != run.parts.count { problems.append(changed) }
        return problems
    }

    /// A per-series seal's entries against their hashes, and the seal's digest over them.
    static func checkEntries(of sealed: StoredSeal, _ entries: Statement, rows: SealedRows) throws -> [String] {
        var problems: [String] = []
        var digest = FieldDigest(capacity: 4096)
        for entry in try Row.fetchAll(entries, arguments: [sealed.id]).map(SealEntry.init) {
            if entry.contentHash != entry.hash {
                problems.append("reading seal \(sealed.id)'s entry for \(rows.name(series: entry.series)) was changed: its content does not match its hash")
            }
            SealBuilder.add(&digest, series: entry.series, hash: entry.hash)
        }
        if digest.hex() != sealed.digest {
            problems.append("reading seal \(sealed.id) (committed \(sealed.when)) was changed: its entries do not match its digest")
        }
        return problems
    }

    /// Seals between two that hold readings, whose readings are all gone.
    static func between(_ db: Database, after: Int64, before: Int64) throws -> [String] {
        guard before > after + 1 else { return [] }
        return try Row.fetchAll(
            db, sql: "SELECT id, count, time FROM reading_seal WHERE id > ? AND id < ? AND count > 0 ORDER BY id LIMIT 100",
            arguments: [after, before]
        ).map { row in
            let time: Int64 = row[2]
            return "all \(row[1] as Int) readings of seal \(row[0] as Int64) (committed \(UTCTime.format(Date(millisecondsSince1970: time)))) are missing (deleted)"
        }
    }
}
