import Foundation
import GRDB

/// Each committed batch of readings is sealed in the same transaction: a digest of its rows in
/// `reading_seal`, chained to the previous seal by hash. A reading edited, deleted or slipped in
/// afterwards no longer matches its seal.
package enum ReadingSeal {
    /// The fields of one reading that its seal covers, in order.
    static func add(
        _ digest: inout FieldDigest, device: String, channel: String, time: Int64, value: Double?, quality: String,
        detail: String?, lots: String?
    ) {
        digest.add(device)
        digest.add(channel)
        digest.add(time)
        digest.add(value)
        digest.add(quality)
        digest.add(detail)
        digest.add(lots)
    }

    /// The digest of every stored reading, in the order written.
    static func digestAll(db: Database) throws -> String {
        let rows = try SealedRows(db: db)
        var digest = FieldDigest()
        let statement = try db.makeStatement(sql: SealedRows.sql + " ORDER BY rowid")
        let cursor = try Row.fetchCursor(statement)
        while try cursor.next() != nil { _ = rows.add(&digest, row: statement.sqliteStatement) }
        return digest.hex()
    }

    /// The last seal: its id and hash (0 and zeros when nothing is sealed yet; the last archived
    /// seal when every seal was moved to a month archive, so the chain continues across files).
    package static func head(db: Database) throws -> (id: Int64, hash: String) {
        if let row = try Row.fetchOne(db, sql: "SELECT id, hash FROM reading_seal ORDER BY id DESC LIMIT 1") {
            return (row[0], row[1])
        }
        return try ArchivedHeads.seal(db)
    }

    /// Seal formats: rows (nil, before "v3 seals per series": the digest is over the batch's
    /// rows in row order) and per series (2: the digest is over the batch's `seal_series`
    /// entries, each the digest of one series' rows, see `SealBuilder`). The format is part of
    /// the hash, so a seal cannot be passed off as the other kind.
    package static let perSeries: Int64 = 2

    package static func hash(id: Int64, time: Int64, count: Int, digest: String, prev: String, format: Int64? = nil) -> String {
        var chain = FieldDigest()
        chain.add(id)
        chain.add(time)
        chain.add(Int64(count))
        chain.add(digest)
        chain.add(prev)
        if let format { chain.add(format) }
        return chain.hex()
    }

    /// Appends the seal of a batch; returns its id.
    @discardableResult
    static func append(
        count: Int, digest: String, time: Int64, db: Database, id: Int64? = nil, format: Int64? = nil
    ) throws -> Int64 {
        let head = try head(db: db)
        let id = id ?? head.id + 1
        let hash = hash(id: id, time: time, count: count, digest: digest, prev: head.hash, format: format)
        if let format {
            try db.execute(
                sql: "INSERT INTO reading_seal (id, time, count, digest, prev, hash, format) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, time, count, digest, head.hash, hash, format])
        } else {
            try db.execute(
                sql: "INSERT INTO reading_seal (id, time, count, digest, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, time, count, digest, head.hash, hash])
        }
        return id
    }
}

/// Stored readings as their seal covers them (the fields of `ReadingSeal.add`), read without
/// joins: the device, channel, quality and lots repeat on millions of rows, so their field bytes
/// are encoded once per store and looked up by id.
struct SealedRows: Sendable {
    /// Columns 0–7: series, time, value, quality, detail, lot_set, seal, rowid.
    static let sql = "SELECT series, time, value, quality, detail, lot_set, seal, rowid FROM reading"

    /// Every encoded field, back to back; the tables below say where each id's bytes are.
    /// (Looking up byte arrays in dictionaries cost more per row than hashing the row.)
    private var bytes: [UInt8] = []
    private var series = SpanTable()
    private var lots = SpanTable()
    private var qualities = SpanTable()
    private var names: [Int64: String] = [:]
    private var unknownQuality = 0..<0
    private var noLots = 0..<0

    init(db: Database) throws {
        var bytes: [UInt8] = []
        func store(_ encoded: [UInt8]) -> Range<Int> {
            let start = bytes.count
            bytes += encoded
            return start..<bytes.count
        }
        defer { self.bytes = bytes }
        unknownQuality = store(FieldDigest.encoded("?"))
        noLots = store(FieldDigest.encoded(nil))
        for row in try Row.fetchAll(db, sql: "SELECT id, device, channel FROM series") {
            series[row[0]] = store(FieldDigest.encoded(row[1], row[2]))
            names[row[0]] = "\(row[1] as String) \(row[2] as String)"
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, lots FROM lot_set") {
            lots[row[0]] = store(FieldDigest.encoded(row[1]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT code, name FROM quality") {
            qualities[row[0]] = store(FieldDigest.encoded(row[1]))
        }
    }

    /// Adds the current row of a statement running `sql` to `digest`; false (and nothing added)
    /// when its series does not exist, which no reading written by the daemon can have. Columns
    /// are read from the statement itself: this runs for every stored reading.
    func add(_ digest: inout FieldDigest, row statement: SQLiteStatement) -> Bool {
        guard let series = series[Int64(sqliteStatement: statement, index: 0)] else { return false }
        let quality = Int64.fromStatement(statement, atUncheckedIndex: 3).flatMap { qualities[$0] } ?? unknownQuality
        // A lot set id that does not exist reads as no lots, as a join would.
        let lots = Int64.fromStatement(statement, atUncheckedIndex: 5).flatMap { self.lots[$0] } ?? noLots
        bytes.withUnsafeBytes { all in
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[series]))
            digest.add(Int64(sqliteStatement: statement, index: 1))
            digest.add(Double.fromStatement(statement, atUncheckedIndex: 2))
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[quality]))
            digest.add(String.fromStatement(statement, atUncheckedIndex: 4))
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[lots]))
        }
        return true
    }

    /// Adds a reading given by its stored columns (as `add(_:row:)` reads them); false when its
    /// series does not exist.
    func add(
        _ digest: inout FieldDigest, series: Int64, time: Int64, value: Double?, quality: Int64, detail: String?,
        lotSet: Int64?
    ) -> Bool {
        guard let series = self.series[series] else { return false }
        let quality = qualities[quality] ?? unknownQuality
        let lots = lotSet.flatMap { self.lots[$0] } ?? noLots
        bytes.withUnsafeBytes { all in
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[series]))
            digest.add(time)
            digest.add(value)
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[quality]))
            digest.add(detail)
            digest.add(encoded: UnsafeRawBufferPointer(rebasing: all[lots]))
        }
        return true
    }

    /// "device channel" of a series, for messages.
    func name(series id: Int64) -> String { names[id] ?? "series \(id)" }

    /// "device channel" of the statement's current row, for messages.
    func name(_ statement: SQLiteStatement) -> String {
        let id = Int64(sqliteStatement: statement, index: 0)
        return names[id] ?? "series \(id)"
    }
}

/// Ranges by row id: an array for the small dense ids SQLite hands out, a dictionary for any
/// other (a row inserted by hand with an id of 10^12 must not allocate 10^12 slots).
private struct SpanTable: Sendable {
    private var dense: [Range<Int>?] = []
    private var sparse: [Int64: Range<Int>] = [:]
    private static let denseLimit: Int64 = 1 << 20

    subscript(id: Int64) -> Range<Int>? {
        get {
            if id >= 0, id < dense.count { return dense[Int(id)] }
            return sparse[id]
        }
        set {
            if id >= 0, id < Self.denseLimit {
                if id >= dense.count { dense += Array(repeating: nil, count: Int(id) - dense.count + 1) }
                dense[Int(id)] = newValue
            } else {
                sparse[id] = newValue
            }
        }
    }
}
