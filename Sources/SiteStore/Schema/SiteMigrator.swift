import Logging
import PostgresNIO

/// Brings a site store's schema to `SiteMigrations.latest`: the missing migrations and their
/// `labgate_schema` rows in one transaction (all or none), under an advisory lock so that gateways starting
/// together migrate once.
public enum SiteMigrator {
    public struct TooNew: Error, CustomStringConvertible {
        public let found: Int
        public var description: String {
            "the site store's schema is at version \(found), newer than this labgate's \(SiteMigrations.latest): upgrade labgate"
        }
    }

    /// Returns the versions applied now (empty when the schema was current).
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS labgate_schema (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())",
            logger: logger)
        var applied: [Int] = []
        do {
            try await apply(connection, logger: logger, applied: &applied)
        } catch let error as PostgresTransactionError {
            // Say why the migration failed, not that its transaction did.
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
        return applied
    }

    private static func apply(_ connection: PostgresConnection, logger: Logger, applied: inout [Int]) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('labgate_schema'))", logger: logger)
            let current = try await version(connection, logger: logger)
            if current > SiteMigrations.latest { throw TooNew(found: current) }
            for migration in SiteMigrations.all where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO labgate_schema (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                applied.append(migration.version)
            }
        }
    }

    public static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT coalesce(max(version), 0) FROM labgate_schema", logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }
}
