import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The SQLite file holding every reading (WAL, so readers never block the one writer).
public final class ReadingStore: Sendable {
    public let path: String
    private let current: Mutex<DatabasePool>
    /// The store's connections: the writable pool, or, while an up-to-date store could not be
    /// opened for writing at start, a read-only one (writes then fail and are retried by their
    /// callers) until a background attempt opens the writable one.
    package var pool: DatabasePool { current.withLock { $0 } }
    /// The chain heads as this process wrote them (observed on the writable pool's writer).
    public let heads: HeadTracker

    /// The most memory each of the daemon's connections keeps for pages, in KiB.
    static let pageCacheKiB = 512

    /// Opens (creating if needed) the store at `path` and brings its schema up to date. A store
    /// whose schema is up to date but which cannot be written now (another process holds its
    /// write lock: GRDB's opening writes to an empty WAL) is opened for reading, and for writing
    /// as soon as it can be (tried every second).
    public init(path: String) throws(StartupError) {
        try StartupError.checkWritableFolder(of: path, what: "store")
        self.path = path
        let opened: DatabasePool
        var retry = false
        let heads = HeadTracker()
        self.heads = heads
        do {
            opened = try Self.openForWriting(path, heads: heads)
        } catch {
            guard let reading = try? Self.openForReading(path),
                (try? reading.read { db in try Self.migrator.hasCompletedMigrations(db) }) == true
            else {
                throw StartupError("cannot open store \(path): \(error)")
            }
            opened = reading
            retry = true
        }
        current = Mutex(opened)
        if retry {
            // A thread of its own: each attempt may wait the busy timeout, which must not hold a
            // thread of the cooperative pool.
            Thread.detachNewThread { [self] in
                while true {
                    Thread.sleep(forTimeInterval: 1)
                    if let writable = try? Self.openForWriting(path, heads: heads) {
                        current.withLock { $0 = writable }
                        return
                    }
                }
            }
        }
    }

    /// Whether the store is open for writing (false while `init` could only read it).
    public var isWritable: Bool { !pool.configuration.readonly }

    private static func openForWriting(_ path: String, heads: HeadTracker) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try prepare(db) }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB opens WAL with synchronous=NORMAL (after prepareDatabase, so it is set here on
        // the pool's one writer connection), which syncs the WAL only at checkpoints: a power
        // cut could then lose commits labgate had already reported as done. FULL syncs the
        // WAL at every commit.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        // Migrating takes the write lock even when there is nothing to do: checked with a read
        // first.
        if try !pool.read({ db in try migrator.hasCompletedMigrations(db) }) { try migrator.migrate(pool) }
        // Readings a stop did not move (killed, or a failing store) are moved before any new one.
        if try pool.read({ db in try RecentMove.hasRecent(db) && Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM reading_recent) OR EXISTS (SELECT 1 FROM seal_series_recent)") == true }) {
            try pool.writeWithoutTransaction { db in _ = try RecentMove.run(db) }
        }
        // What this process writes from now on is what the store must end with (`TamperCheck`).
        try pool.writeWithoutTransaction { db in
            try heads.start(from: db)
            db.add(transactionObserver: heads, extent: .databaseLifetime)
        }
        return pool
    }

    /// Every connection of the daemon's writable pool: the WAL files kept, and a page cache of
    /// `pageCacheKiB` (a reader for a report keeps SQLite's default). SQLite keeps up
    /// to 2 MB of pages per connection by default, in the daemon's heap for its whole run: the
    /// writer appends at one place per series in the index, and fills it. The pages it drops stay
    /// in the kernel's page cache, a read away.
    private static func prepare(_ db: Database) throws {
        keepWAL(db)
        try db.execute(sql: "PRAGMA cache_size = -\(pageCacheKiB)")
    }

    /// The last connection to close keeps the -wal and -shm files (SQLITE_FCNTL_PERSIST_WAL)
    /// instead of deleting them: a WAL store whose -shm must be made anew cannot even be read on a
    /// full disk, so a daemon started there could not learn its lots; with them kept it starts,
    /// reads, and holds what it records until space returns.
    private static func keepWAL(_ db: Database) {
        var on: Int32 = 1
        _ = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
    }

    private static func openForReading(_ path: String, archives: ArchiveViews? = nil) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.prepareDatabase { db in
            keepWAL(db)
            try archives?.attach(db)
        }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Opens an existing store for reading only (the CLI, while the daemon writes); with
    /// `archives`, its connections read those month archives and the store as one (`ArchiveViews`).
    public init(readingExisting path: String, archives: ArchiveViews? = nil) throws(StartupError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StartupError("store \(path) does not exist (has the daemon run with this config?)")
        }
        self.path = path
        heads = HeadTracker()
        do {
            current = Mutex(try Self.openForReading(path, archives: archives))
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
        SealDeleteMigration.register(in: &migrator)
        NotifyMigrations.register(in: &migrator)
        SignatureMigration.register(in: &migrator)
        ForwardStatusStore.register(in: &migrator)
        SeriesLayoutMigration.register(in: &migrator)
        ArchiveMigration.register(in: &migrator)
        RecentTablesMigration.register(in: &migrator)
        ForwardChangeMigration.register(in: &migrator)
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
