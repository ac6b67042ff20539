import Foundation
import GRDB

/// The `device_status` table: one row per device with its latest diagnostics, rewritten by the
/// daemon every few seconds and when it stops, read by `labgate status` whether the daemon runs
/// or not. Times are milliseconds since 1970 UTC, durations seconds; nested values are JSON.
public enum DeviceStatusStore {
    static let createTable = """
        CREATE TABLE device_status (
            device TEXT PRIMARY KEY,
            updated INTEGER NOT NULL,
            last_poll INTEGER,
            last_answer INTEGER,
            polls_answered INTEGER NOT NULL,
            polls_failed INTEGER NOT NULL,
            polls_skipped INTEGER NOT NULL,
            consecutive_failures INTEGER NOT NULL,
            next_try INTEGER,
            transactions_ok INTEGER NOT NULL,
            timeouts INTEGER NOT NULL,
            crc_errors INTEGER NOT NULL,
            bad_responses INTEGER NOT NULL,
            connection_errors INTEGER NOT NULL,
            exceptions TEXT NOT NULL,      -- {"6": 12}: exception replies by code
            latency_count INTEGER,         -- replies in the transaction-time histogram
            latency_p50 REAL,              -- seconds
            latency_p99 REAL,
            latency_max REAL,
            last_error TEXT,
            last_error_time INTEGER,
            channels TEXT NOT NULL         -- latest reading of each channel, JSON array
        );
        """

    private static let columns = [
        "device", "updated", "last_poll", "last_answer", "polls_answered", "polls_failed", "polls_skipped",
        "consecutive_failures", "next_try", "transactions_ok", "timeouts", "crc_errors", "bad_responses",
        "connection_errors", "exceptions", "latency_count", "latency_p50", "latency_p99", "latency_max",
        "last_error", "last_error_time", "channels",
    ]

    /// Writes (inserts or replaces) one row per status, in one transaction.
    public static func save(_ statuses: [DeviceStatus], to store: ReadingStore) async throws {
        let rows = try statuses.map(arguments)
        let sql = "INSERT OR REPLACE INTO device_status (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        try await store.pool.write { db in
            let statement = try db.cachedStatement(sql: sql)
            for row in rows { try statement.execute(arguments: row) }
        }
    }

    /// Every stored status, by device id; nil when the store has no `device_status` table (it was
    /// written by a labgate from before the table existed and not opened by a newer one since).
    public static func fetchAll(from store: ReadingStore) throws -> [String: DeviceStatus]? {
        try store.pool.read { db in
            guard try db.tableExists("device_status") else { return nil }
            var result: [String: DeviceStatus] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM device_status") {
                let status = try status(from: row)
                result[status.device] = status
            }
            return result
        }
    }

    private static func arguments(_ status: DeviceStatus) throws -> StatementArguments {
        let exceptions = Dictionary(uniqueKeysWithValues: status.transactions.exceptions.map { (String($0.key), $0.value) })
        let values: [(any DatabaseValueConvertible)?] = [
            status.device, status.updated.millisecondsSince1970, status.lastPoll?.millisecondsSince1970,
            status.lastAnswer?.millisecondsSince1970, status.pollsAnswered, status.pollsFailed, status.pollsSkipped,
            status.consecutiveFailures, status.nextTry?.millisecondsSince1970, status.transactions.ok,
            status.transactions.timeout, status.transactions.badCRC, status.transactions.badResponse,
            status.transactions.disconnected, try json(exceptions), status.latency?.count, status.latency?.p50,
            status.latency?.p99, status.latency?.max, status.lastError, status.lastErrorTime?.millisecondsSince1970,
            try json(status.channels),
        ]
        return StatementArguments(values)
    }

    private static func status(from row: Row) throws -> DeviceStatus {
        func date(_ column: String) -> Date? {
            (row[column] as Int64?).map(Date.init(millisecondsSince1970:))
        }
        var status = DeviceStatus(device: row["device"], updated: date("updated") ?? Date(timeIntervalSince1970: 0))
        status.lastPoll = date("last_poll")
        status.lastAnswer = date("last_answer")
        status.pollsAnswered = row["polls_answered"]
        status.pollsFailed = row["polls_failed"]
        status.pollsSkipped = row["polls_skipped"]
        status.consecutiveFailures = row["consecutive_failures"]
        status.nextTry = date("next_try")
        status.transactions.ok = row["transactions_ok"]
        status.transactions.timeout = row["timeouts"]
        status.transactions.badCRC = row["crc_errors"]
        status.transactions.badResponse = row["bad_responses"]
        status.transactions.disconnected = row["connection_errors"]
        let exceptions = try decoder.decode([String: Int].self, from: Data((row["exceptions"] as String).utf8))
        for (code, count) in exceptions {
            if let code = UInt8(code) { status.transactions.exceptions[code] = count }
        }
        if let count = row["latency_count"] as Int?, let p50 = row["latency_p50"] as Double?,
           let p99 = row["latency_p99"] as Double?, let max = row["latency_max"] as Double?
        {
            status.latency = LatencySummary(count: count, p50: p50, p99: p99, max: max)
        }
        status.lastError = row["last_error"]
        status.lastErrorTime = date("last_error_time")
        status.channels = try decoder.decode([ChannelStatus].self, from: Data((row["channels"] as String).utf8))
        return status
    }

    private static func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static var encoder: JSONEncoder { RecordJSON.encoder }
    private static var decoder: JSONDecoder { RecordJSON.decoder }
}
