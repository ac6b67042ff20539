import Foundation
import GRDB

/// The `forward_status` table: where forwarding to the site store stood when the daemon last
/// wrote it (every few seconds, and when it stops), for `labgate status`, whether the daemon runs
/// or not. `confirmed` is the newest reading sequence the site store confirmed.
public struct ForwardStatus: Sendable, Equatable {
    public var gateway: String
    public var url: String
    public var updated: Date
    public var connected: Bool
    public var localReadings: Int64
    public var confirmedReadings: Int64
    public var lagSeconds: Double
    public var lastForward: Date?
    public var lastError: String?
    public var lastErrorTime: Date?

    public init(
        gateway: String, url: String, updated: Date, connected: Bool, localReadings: Int64, confirmedReadings: Int64,
        lagSeconds: Double, lastForward: Date?, lastError: String?, lastErrorTime: Date?
    ) {
        self.gateway = gateway
        self.url = url
        self.updated = updated
        self.connected = connected
        self.localReadings = localReadings
        self.confirmedReadings = confirmedReadings
        self.lagSeconds = lagSeconds
        self.lastForward = lastForward
        self.lastError = lastError
        self.lastErrorTime = lastErrorTime
    }

    public var lagReadings: Int64 { max(0, localReadings - confirmedReadings) }
}

public enum ForwardStatusStore {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6 forward status") { db in
            try db.execute(sql: """
                CREATE TABLE forward_status (
                    gateway TEXT PRIMARY KEY,
                    url TEXT NOT NULL,
                    updated INTEGER NOT NULL,
                    connected INTEGER NOT NULL,
                    local_readings INTEGER NOT NULL,
                    confirmed_readings INTEGER NOT NULL,
                    lag_seconds REAL NOT NULL,
                    last_forward INTEGER,
                    last_error TEXT,
                    last_error_time INTEGER
                );
                """)
        }
    }

    private static func ms(_ date: Date?) -> Int64? { date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } }
    private static func date(_ ms: Int64?) -> Date? { ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } }

    public static func write(_ status: ForwardStatus, to store: ReadingStore) async throws {
        try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM forward_status")
            try db.execute(
                sql: """
                    INSERT INTO forward_status (gateway, url, updated, connected, local_readings, confirmed_readings, lag_seconds,
                        last_forward, last_error, last_error_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    status.gateway, status.url, ms(status.updated), status.connected, status.localReadings, status.confirmedReadings,
                    status.lagSeconds, ms(status.lastForward), status.lastError, ms(status.lastErrorTime),
                ])
        }
    }

    /// Each stream's position the site store confirmed (the store's `forward_position`).
    public static func write(positions: [String: Int64], to store: ReadingStore) async throws {
        try await store.pool.write { db in
            for (stream, position) in positions {
                try db.execute(
                    sql: "INSERT INTO forward_position (stream, position) VALUES (?, ?) ON CONFLICT(stream) DO UPDATE SET position = excluded.position",
                    arguments: [stream, position])
            }
        }
    }

    /// nil when the store has none (no site store, or a store from before forwarding).
    public static func fetch(from store: ReadingStore) throws -> ForwardStatus? {
        try store.pool.read { db in
            guard try db.tableExists("forward_status"),
                let row = try Row.fetchOne(db, sql: "SELECT * FROM forward_status LIMIT 1")
            else { return nil }
            return ForwardStatus(
                gateway: row["gateway"], url: row["url"], updated: date(row["updated"]) ?? Date(timeIntervalSince1970: 0),
                connected: row["connected"], localReadings: row["local_readings"], confirmedReadings: row["confirmed_readings"],
                lagSeconds: row["lag_seconds"], lastForward: date(row["last_forward"]), lastError: row["last_error"],
                lastErrorTime: date(row["last_error_time"]))
        }
    }
}
