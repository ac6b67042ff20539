import GRDB

/// The store's sixth migration: a series' readings, and its seal entries, stored together.
///
/// Until it, `reading` was a rowid table (rows in the order written, every device's interleaved)
/// and `seal_series` was keyed by (seal, series): at the daemon's cadence each poll of a device
/// lands on a table page shared with every other device's polls of that second, so a lot report
/// read about one page of each table per poll of its device, in tables as big as the whole site
/// (BENCHMARKS.md, bigstore). Both are rebuilt `WITHOUT ROWID`, clustered by series: readings by
/// (series, time, rowid), entries by (series, seal). What a lot's series costs to read then
/// depends on the lot, not on the store.
///
/// `rowid` stays as a column of its own, with the number each row had (the writer gives the next
/// ones): a seal's digest is over its rows in that order, `audit verify` reads them in it (through
/// `reading_by_rowid`), and reports name a row by it. The triggers that refuse changes are made
/// again with the SQL the earlier migrations made them with (`SchemaCheck` compares them).
enum SeriesLayoutMigration {
    static let name = "v6 readings and seal entries stored by series"

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(name) { db in
            // The old tables are copies of the new ones: SQLite's secure delete (on in Debian's
            // build) would zero every page they free, through the WAL, doubling what a big store's
            // migration writes (seen: a 10 GB store's rollback journal grew by 10 GB of zeros).
            let secureDelete = try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? 0
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            defer { try? db.execute(sql: "PRAGMA secure_delete = \(secureDelete)") }
            try db.execute(sql: """
                CREATE TABLE reading_new (
                    rowid INTEGER NOT NULL,
                    series INTEGER NOT NULL REFERENCES series(id),
                    time INTEGER NOT NULL,
                    value REAL,
                    quality INTEGER NOT NULL REFERENCES quality(code),
                    detail TEXT,
                    lot_set INTEGER REFERENCES lot_set(id),
                    seal INTEGER,
                    CHECK ((quality = 0) = (value IS NOT NULL)),
                    PRIMARY KEY (series, time, rowid)
                ) WITHOUT ROWID;
                INSERT INTO reading_new (rowid, series, time, value, quality, detail, lot_set, seal)
                    SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading
                    ORDER BY series, time, rowid;
                DROP TABLE reading;
                ALTER TABLE reading_new RENAME TO reading;
                CREATE INDEX reading_by_rowid ON reading(rowid);

                CREATE TABLE seal_series_new (
                    seal INTEGER NOT NULL,
                    series INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    first INTEGER NOT NULL,
                    last INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    prev TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    PRIMARY KEY (series, seal)
                ) WITHOUT ROWID;
                INSERT INTO seal_series_new (seal, series, count, first, last, digest, prev, hash)
                    SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series
                    ORDER BY series, seal;
                DROP TABLE seal_series;
                ALTER TABLE seal_series_new RENAME TO seal_series;
                CREATE INDEX seal_series_by_seal ON seal_series(seal, series);
                CREATE INDEX seal_series_by_last ON seal_series(series, last);
                """)
            // Dropping the tables dropped their triggers: the same again, word for word.
            try db.execute(sql: """
                CREATE TRIGGER reading_sealed_update BEFORE UPDATE ON reading
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never changed'); END;
                CREATE TRIGGER reading_sealed_delete BEFORE DELETE ON reading
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never deleted'); END;
                """)
            try db.execute(sql: """
                CREATE TRIGGER seal_series_append_only_update BEFORE UPDATE ON seal_series
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                CREATE TRIGGER seal_series_append_only_delete BEFORE DELETE ON seal_series
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                """)
        }
    }
}
