import Foundation
import GRDB

/// Each committed batch of readings is sealed in the same transaction: a digest of its rows in
/// `reading_seal`, chained to the previous seal by hash. A reading edited, deleted or slipped in
/// afterwards no longer matches its seal.
enum ReadingSeal {
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

    static let rowsSQL = """
        SELECT s.device, s.channel, r.time, r.value, q.name, r.detail, ls.lots, r.seal, r.rowid
        FROM reading r JOIN series s ON s.id = r.series LEFT JOIN quality q ON q.code = r.quality
        LEFT JOIN lot_set ls ON ls.id = r.lot_set
        """

    static func add(_ digest: inout FieldDigest, row: Row) {
        add(
            &digest, device: row[0], channel: row[1], time: row[2], value: row[3], quality: row[4] ?? "?", detail: row[5],
            lots: row[6])
    }

    /// The digest of the readings selected by `condition`, in the order they were written.
    static func digest(db: Database, rows condition: String) throws -> String {
        var digest = FieldDigest()
        let cursor = try Row.fetchCursor(db, sql: rowsSQL + " WHERE \(condition) ORDER BY r.rowid")
        while let row = try cursor.next() { add(&digest, row: row) }
        return digest.hex()
    }

    /// The last seal: its id and hash (0 and zeros when nothing is sealed yet).
    static func head(db: Database) throws -> (id: Int64, hash: String) {
        if let row = try Row.fetchOne(db, sql: "SELECT id, hash FROM reading_seal ORDER BY id DESC LIMIT 1") {
            return (row[0], row[1])
        }
        return (0, FieldDigest.zero)
    }

    static func hash(id: Int64, time: Int64, count: Int, digest: String, prev: String) -> String {
        var chain = FieldDigest()
        chain.add(id)
        chain.add(time)
        chain.add(Int64(count))
        chain.add(digest)
        chain.add(prev)
        return chain.hex()
    }

    /// Appends the seal of a batch; returns its id.
    @discardableResult
    static func append(count: Int, digest: String, time: Int64, db: Database, id: Int64? = nil) throws -> Int64 {
        let head = try head(db: db)
        let id = id ?? head.id + 1
        let hash = hash(id: id, time: time, count: count, digest: digest, prev: head.hash)
        try db.execute(
            sql: "INSERT INTO reading_seal (id, time, count, digest, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [id, time, count, digest, head.hash, hash])
        return id
    }
}
