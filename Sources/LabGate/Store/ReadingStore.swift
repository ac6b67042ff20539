import Foundation
import GRDB

/// The SQLite file holding every reading (WAL, so readers never block the one writer).
public final class ReadingStore: Sendable {
    public let path: String
    package let pool: DatabasePool

    /// The most memory each of the daemon's connections keeps for pages, in KiB.
    static let pageCacheKiB = 512

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws(StartupError) {
        try StartupError.checkWritableFolder(of: path, what: "store")
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            // SQLite keeps up to 2 MB of pages per connection by default, in the daemon's heap for
            // its whole run: the writer appends at one place per series in the index, and fills it.
            // The pages it drops stay in the kernel's page cache, a read away.
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA cache_size = -\(Self.pageCacheKiB)")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB opens WAL with synchronous=NORMAL (after prepareDatabase, so it is set here on
            // the pool's one writer connection), which syncs the WAL only at checkpoints: a power
            // cut could then lose commits labgate had already reported as done. FULL syncs the
            // WAL at every commit.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw StartupError("cannot open store \(path): \(error)")
        }
    }

    /// Opens an existing store for reading only (the CLI, while the daemon writes).
    public init(readingExisting path: String) throws(StartupError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StartupError("store \(path) does not exist (has the daemon run with this config?)")
        }
        self.path = path
        do {
            var configuration = Configuration()
            configuration.readonly = true
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StartupError("cannot open store \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 readings") { db in
            try db.execute(sql: """
                CREATE TABLE quality (
                    code INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE
                );
                CREATE TABLE series (
                    id INTEGER PRIMARY KEY,
                    device TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    UNIQUE (device, channel)
                );
                -- time: milliseconds since 1970-01-01 UTC; value is NULL unless quality is good.
                CREATE TABLE reading (
                    series INTEGER NOT NULL REFERENCES series(id),
                    time INTEGER NOT NULL,
                    value REAL,
                    quality INTEGER NOT NULL REFERENCES quality(code),
                    detail TEXT,
                    CHECK ((quality = 0) = (value IS NOT NULL))
                );
                CREATE INDEX reading_by_series_time ON reading(series, time);
                """)
            for (code, quality) in Quality.allCases.enumerated() {
                try db.execute(sql: "INSERT INTO quality (code, name) VALUES (?, ?)", arguments: [code, quality.rawValue])
            }
        }
        LotMigrations.register(in: &migrator)
        migrator.registerMigration("v2 device status") { db in
            // Qualities added since v1 (e.g. skipped) get their code in stores made before them.
            for (code, quality) in Quality.allCases.enumerated() {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO quality (code, name) VALUES (?, ?)", arguments: [code, quality.rawValue])
            }
            try db.execute(sql: DeviceStatusStore.createTable)
        }
        SealMigrations.register(in: &migrator)
        return migrator
    }
}

extension Quality {
    /// The code stored in the `reading` table (the `quality` table names each one): its position
    /// in `allCases`.
    var code: Int { Self.all.firstIndex(of: self)! }

    /// `allCases` made once (the writer asks for every reading's code).
    private static let all = allCases

    init?(code: Int) {
        guard Quality.allCases.indices.contains(code) else { return nil }
        self = Quality.allCases[code]
    }
}
