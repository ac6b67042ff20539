import Foundation
import GRDB

/// One month moved out of the live store: the `archive` row, which the move's audit entry
/// records word for word (`new`, as JSON), so a row changed or forged later no longer matches.
public struct MonthArchive: Codable, Sendable, Equatable {
    /// "2026-10": the UTC month in which its seals were committed.
    public var month: String
    /// The file's name inside the archive folder (`readings-2026-10.sqlite`).
    public var file: String
    public var sha256: String
    public var firstSeal: Int64
    public var lastSeal: Int64
    public var lastSealHash: String
    public var firstRow: Int64
    public var lastRow: Int64
    public var readings: Int64
    public var seals: Int64
    public var entries: Int64
    /// When the move was committed (UTC ms).
    public var time: Int64

    /// The audit record naming it.
    public var record: String { "archive:\(month)" }

    static func fetchAll(_ db: Database) throws -> [MonthArchive] {
        guard try db.tableExists("archive") else { return [] }
        return try Row.fetchAll(db, sql: "SELECT * FROM archive ORDER BY first_seal").map(MonthArchive.init(row:))
    }

    init(row: Row) {
        month = row["month"]
        file = row["file"]
        sha256 = row["sha256"]
        firstSeal = row["first_seal"]
        lastSeal = row["last_seal"]
        lastSealHash = row["last_seal_hash"]
        firstRow = row["first_row"]
        lastRow = row["last_row"]
        readings = row["readings"]
        seals = row["seals"]
        entries = row["entries"]
        time = row["time"]
    }

    init(
        month: String, file: String, sha256: String, firstSeal: Int64, lastSeal: Int64, lastSealHash: String, firstRow: Int64,
        lastRow: Int64, readings: Int64, seals: Int64, entries: Int64, time: Int64
    ) {
        self.month = month
        self.file = file
        self.sha256 = sha256
        self.firstSeal = firstSeal
        self.lastSeal = lastSeal
        self.lastSealHash = lastSealHash
        self.firstRow = firstRow
        self.lastRow = lastRow
        self.readings = readings
        self.seals = seals
        self.entries = entries
        self.time = time
    }

    func insert(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO archive (month, file, sha256, first_seal, last_seal, last_seal_hash, first_row, last_row,
                    readings, seals, entries, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [month, file, sha256, firstSeal, lastSeal, lastSealHash, firstRow, lastRow, readings, seals, entries, time])
    }

    /// The archive folder of the store at `storePath`: `archive/` next to it.
    public static func folder(ofStore storePath: String) -> String {
        (URL(fileURLWithPath: storePath).deletingLastPathComponent().path as NSString).appendingPathComponent("archive")
    }

    public static func fileName(month: String) -> String { "readings-\(month).sqlite" }

    /// "2026-10" for a time in UTC ms.
    static func month(of ms: Int64) -> String {
        let date = Date(millisecondsSince1970: ms)
        let parts = utc.dateComponents([.year, .month], from: date)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    /// The first millisecond after the month holding `ms`.
    static func end(ofMonthHolding ms: Int64) -> Int64 {
        let date = Date(millisecondsSince1970: ms)
        let start = utc.date(from: utc.dateComponents([.year, .month], from: date))!
        return utc.date(byAdding: .month, value: 1, to: start)!.millisecondsSince1970
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// The chain heads the archives leave the live store: where the store's seal chain and each
/// series' chain of entries continue from once the rows before were moved out.
package enum ArchivedHeads {
    /// The last archived seal (0 and zeros when none was archived).
    package static func seal(_ db: Database) throws -> (id: Int64, hash: String) {
        guard try db.tableExists("archive"),
            let row = try Row.fetchOne(db, sql: "SELECT last_seal, last_seal_hash FROM archive ORDER BY last_seal DESC LIMIT 1")
        else { return (0, FieldDigest.zero) }
        return (row[0], row[1])
    }

    /// How many seals the archives hold.
    package static func sealCount(_ db: Database) throws -> Int64 {
        guard try db.tableExists("archive") else { return 0 }
        return try Int64.fetchOne(db, sql: "SELECT sum(seals) FROM archive") ?? 0
    }

    /// The last archived reading row (0 when none).
    package static func row(_ db: Database) throws -> Int64 {
        guard try db.tableExists("archive") else { return 0 }
        return try Int64.fetchOne(db, sql: "SELECT max(last_row) FROM archive") ?? 0
    }

    /// Each series' last archived entry hash.
    package static func series(_ db: Database) throws -> [Int64: String] {
        guard try db.tableExists("archive_series_head") else { return [:] }
        var heads: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT series, hash FROM archive_series_head") { heads[row[0]] = row[1] }
        return heads
    }
}
