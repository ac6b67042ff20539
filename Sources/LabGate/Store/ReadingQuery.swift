import Foundation
import GRDB

/// Reads stored readings back, oldest first.
public struct ReadingQuery: Sendable {
    public var device: String
    public var channel: String?
    public var since: Date?
    public var limit: Int?

    public init(device: String, channel: String? = nil, since: Date? = nil, limit: Int? = nil) {
        self.device = device
        self.channel = channel
        self.since = since
        self.limit = limit
    }

    public func fetch(from store: ReadingStore) throws -> [Reading] {
        try store.pool.read { db in
            var sql = """
                SELECT s.device, s.channel, r.time, r.value, r.quality, r.detail, ls.lots
                FROM reading r JOIN series s ON s.id = r.series LEFT JOIN lot_set ls ON ls.id = r.lot_set
                WHERE s.device = ?
                """
            var arguments: StatementArguments = [device]
            if let channel {
                sql += " AND s.channel = ?"
                _ = arguments.append(contentsOf: [channel])
            }
            if let since {
                sql += " AND r.time >= ?"
                _ = arguments.append(contentsOf: [since.millisecondsSince1970])
            }
            sql += " ORDER BY r.time, s.channel"
            if let limit { sql += " LIMIT \(limit)" }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                Reading(
                    device: row[0], channel: row[1], time: Date(millisecondsSince1970: row[2]),
                    value: row[3], quality: Quality(code: row[4]) ?? .badResponse, detail: row[5],
                    lots: (row[6] as String?).map { $0.split(separator: ",").map(String.init) } ?? [])
            }
        }
    }

    /// Devices that have readings in the store.
    public static func devices(in store: ReadingStore) throws -> [String] {
        try store.pool.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT device FROM series ORDER BY device") }
    }
}
