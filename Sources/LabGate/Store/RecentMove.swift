import GRDB

/// Where readings and seal entries are written and how the recent ones reach the series-clustered
/// tables (`RecentTablesMigration`). Stores at an earlier schema (opened read-only by the tool,
/// or built by tests) have one table of each, named as the views are now.
package enum RecentMove {
    /// Whether the store has the two-step layout.
    package static func hasRecent(_ db: Database) throws -> Bool {
        try db.tableExists("reading_recent")
    }

    /// The tables holding readings: each to be queried where a view over them would be read whole
    /// (SQLite neither takes `min`/`max` nor a join's constraint into a UNION ALL view).
    package static func readingTables(_ db: Database) throws -> [String] {
        try archivesAttached(db) ? ["reading"] : hasRecent(db) ? ["reading_stored", "reading_recent"] : ["reading"]
    }

    /// The tables holding seal entries, likewise.
    package static func sealSeriesTables(_ db: Database) throws -> [String] {
        try archivesAttached(db) ? ["seal_series"] : hasRecent(db) ? ["seal_series_stored", "seal_series_recent"] : ["seal_series"]
    }

    /// Whether month archives are attached, read through temporary views named as the tables
    /// (`ArchiveViews`): then only those views hold every row.
    private static func archivesAttached(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE type = 'view' AND name = 'seal_series')") ?? false
    }

    /// The highest row number stored (0 in an empty store), from each table's key.
    package static func maxRowid(_ db: Database) throws -> Int64 {
        try readingTables(db).compactMap { try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM \($0)") }.max() ?? 0
    }

    /// The lowest row number stored, nil in an empty store.
    package static func minRowid(_ db: Database) throws -> Int64? {
        try readingTables(db).compactMap { try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM \($0)") }.min()
    }

    /// Moves every recent reading and seal entry into the clustered tables, sorted by series, in
    /// one transaction (all or nothing: a kill mid-move leaves them recent, moved at the next
    /// open). Each series' tail page is written once per move instead of once per flush. The
    /// rows deleted from the recent tables are not zeroed (secure_delete FAST): their copies are
    /// stored, and zeroing would write the recent tables' pages a second time. How many readings
    /// were moved.
    @discardableResult
    package static func run(_ db: Database) throws -> Int {
        guard try hasRecent(db) else { return 0 }
        let secureDelete = try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? 0
        try db.execute(sql: "PRAGMA secure_delete = FAST")
        defer { try? db.execute(sql: "PRAGMA secure_delete = \(secureDelete)") }
        var moved = 0
        try db.inTransaction(.immediate) {
            try db.execute(sql: """
                INSERT INTO reading_stored (rowid, series, time, value, quality, detail, lot_set, seal)
                    SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading_recent
                    ORDER BY series, time, rowid
                """)
            moved = db.changesCount
            try db.execute(sql: """
                INSERT INTO seal_series_stored (seal, series, count, first, last, digest, prev, hash)
                    SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series_recent
                    ORDER BY series, seal;
                DELETE FROM reading_recent;
                DELETE FROM seal_series_recent;
                """)
            return .commit
        }
        return moved
    }
}
