import GRDB

/// The store's third migration: batches sealed per series, so that a lot's readings can be
/// checked without re-hashing every other device's (see `SealBuilder`). Seals written before it
/// keep their format (the digest of their rows) and verify as they always did.
enum SealMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3 seals per series") { db in
            try db.execute(sql: """
                -- NULL: the digest is over the batch's rows in row order; 2: over its seal_series entries.
                ALTER TABLE reading_seal ADD COLUMN format INTEGER;
                -- One row per series in a sealed batch: the digest of that series' readings in it
                -- (row order), their count and first and last time (UTC ms), chained by hash to
                -- the series' entry in its previous seal.
                CREATE TABLE seal_series (
                    seal INTEGER NOT NULL,
                    series INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    first INTEGER NOT NULL,
                    last INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    prev TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    PRIMARY KEY (seal, series)
                ) WITHOUT ROWID;
                CREATE INDEX seal_series_by_series ON seal_series(series, seal);
                CREATE INDEX seal_series_by_last ON seal_series(series, last);
                CREATE TRIGGER seal_series_append_only_update BEFORE UPDATE ON seal_series
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                CREATE TRIGGER seal_series_append_only_delete BEFORE DELETE ON seal_series
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                """)
        }
    }
}
