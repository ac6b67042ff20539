import Foundation
import Logging
import PostgresNIO
import SiteStore
import Testing
import TestSupport

@Suite("The site store's schema on a real PostgreSQL 15", .serialized)
struct SiteSchemaTests {
    @Test("the migrations run once, in a transaction, and record their version; a second run changes nothing")
    func migratesOnce() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        let applied = try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        #expect(applied == SiteMigrations.all.map(\.version))
        #expect(try await SiteMigrator.migrate(connection, logger: Logger(label: "test")) == [])
        #expect(try server.rows("SELECT version, name FROM labgate_schema").map { $0[0] } == SiteMigrations.all.map { String($0.version) })
        #expect(try server.count("SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'reading'::regclass") == 1)
        try await connection.close()
    }

    @Test("a schema newer than this labgate is refused, naming both versions")
    func refusesNewer() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        _ = try server.psql("INSERT INTO labgate_schema (version, name) VALUES (\(SiteMigrations.latest + 1), 'future')")
        await #expect(throws: SiteMigrator.TooNew.self) {
            try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        }
        try await connection.close()
    }

    @Test("readings go to month partitions made on demand, and a row inserted twice is kept once")
    func partitionsAndIdempotence() async throws {
        let server = try await PostgreSQLServer()
        let connection = try await server.connect()
        try await SiteMigrator.migrate(connection, logger: Logger(label: "test"))
        let insert = """
            INSERT INTO reading (gateway, seq, series, time, value, quality) VALUES
              ('gw-a', 1, 1, '2026-11-30 23:59:59.999+00', 1.5, 0),
              ('gw-a', 2, 1, '2026-12-01 00:00:00+00', 2.5, 0),
              ('gw-b', 1, 1, '2027-02-14 12:00:00+00', NULL, 2)
            ON CONFLICT DO NOTHING
            """
        // Without a partition for the month, PostgreSQL refuses the row.
        #expect(try server.psql(insert).status != 0)
        #expect(try server.psql("SELECT labgate_reading_months('2026-11-30 23:59:59.999+00', '2027-02-14 12:00:00+00')").status == 0)
        #expect(try server.psql(insert).status == 0)
        #expect(try server.psql(insert).status == 0)
        #expect(try server.count("SELECT count(*) FROM reading") == 3)
        let partitions = try server.rows("""
            SELECT c.relname, count(r.*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            LEFT JOIN reading r ON r.tableoid = c.oid WHERE i.inhparent = 'reading'::regclass GROUP BY c.relname ORDER BY 1
            """)
        #expect(partitions == [["reading_2026_11", "1"], ["reading_2026_12", "1"], ["reading_2027_01", "0"], ["reading_2027_02", "1"]])
        try await connection.close()
    }

    @Test("the test server runs as a non-root user and is gone when stopped")
    func serverRunsUnprivileged() async throws {
        let server = try await PostgreSQLServer()
        let owner = try server.rows("SELECT current_setting('data_directory')")
        #expect(owner.first?.first == server.dataFolder)
        var info = stat()
        #expect(stat(server.dataFolder, &info) == 0)
        #expect(getuid() != 0 ? info.st_uid == getuid() : info.st_uid != 0)
        try await server.stop()
        #expect(!server.isRunning)
        #expect(try server.psql("SELECT 1").status != 0)
        try server.start()
        try await server.waitUntilReady()
        #expect(try server.count("SELECT 1") == 1)
    }
}
