import GRDB

/// The store's migration after the series layout: each second's readings and seal entries are
/// appended to small tables in the order written, and moved into the series-clustered ones every
/// few minutes (`RecentMove`).
///
/// With the series layout alone, each flush put one reading and one seal entry at the end of every
/// series' part of `reading` and `seal_series` (and of `seal_series_by_last`): at 250 devices × 4
/// channels, ~4,500 pages dirtied per commit, each written to the WAL and again at checkpoint
/// (21.5 MB/s against 4.9 for the rowid layout: BENCHMARKS.md, the daemon at scale). Appended, a
/// flush dirties the ~80 pages its rows fill; the move touches each series' tail once per move.
///
/// The clustered tables keep their rows and are only renamed (`reading_stored`,
/// `seal_series_stored`: nothing is rebuilt, so a big store migrates at once); `reading` and
/// `seal_series` become views over both halves, so every reader sees every row, and a change
/// made through a view goes to the table holding the row, whose triggers refuse it as before. A
/// recent row may be deleted only once the same row is stored (the move); nothing may be changed.
enum RecentTablesMigration {
    static let name = "v8 recent readings and seal entries appended, moved by series"

    static func register(in migrator: inout DatabaseMigrator) {
        // Immediate foreign-key checks: the deferred default would check every stored row's
        // references after the renames (minutes on a big store) though no row changes.
        migrator.registerMigration(name, foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE reading RENAME TO reading_stored;
                ALTER TABLE seal_series RENAME TO seal_series_stored;
                CREATE TABLE reading_recent (
                    rowid INTEGER PRIMARY KEY,
                    series INTEGER NOT NULL REFERENCES series(id),
                    time INTEGER NOT NULL,
                    value REAL,
                    quality INTEGER NOT NULL REFERENCES quality(code),
                    detail TEXT,
                    lot_set INTEGER REFERENCES lot_set(id),
                    seal INTEGER,
                    CHECK ((quality = 0) = (value IS NOT NULL))
                );
                CREATE TABLE seal_series_recent (
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
                CREATE VIEW reading AS
                    SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading_stored
                    UNION ALL
                    SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading_recent;
                CREATE VIEW seal_series AS
                    SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series_stored
                    UNION ALL
                    SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series_recent;
                """)
            try db.execute(sql: """
                CREATE TRIGGER reading_recent_update BEFORE UPDATE ON reading_recent
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never changed'); END;
                CREATE TRIGGER reading_recent_delete BEFORE DELETE ON reading_recent
                    WHEN NOT EXISTS (SELECT 1 FROM reading_stored s WHERE s.series = OLD.series AND s.time = OLD.time
                        AND s.rowid = OLD.rowid AND s.value IS OLD.value AND s.quality = OLD.quality
                        AND s.detail IS OLD.detail AND s.lot_set IS OLD.lot_set AND s.seal IS OLD.seal)
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never deleted'); END;
                CREATE TRIGGER seal_series_recent_update BEFORE UPDATE ON seal_series_recent
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                CREATE TRIGGER seal_series_recent_delete BEFORE DELETE ON seal_series_recent
                    WHEN NOT EXISTS (SELECT 1 FROM seal_series_stored s WHERE s.series = OLD.series AND s.seal = OLD.seal
                        AND s.count = OLD.count AND s.first = OLD.first AND s.last = OLD.last AND s.digest = OLD.digest
                        AND s.prev = OLD.prev AND s.hash = OLD.hash)
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                CREATE TRIGGER reading_view_insert INSTEAD OF INSERT ON reading
                    BEGIN INSERT INTO reading_recent (rowid, series, time, value, quality, detail, lot_set, seal)
                        VALUES (NEW.rowid, NEW.series, NEW.time, NEW.value, NEW.quality, NEW.detail, NEW.lot_set, NEW.seal); END;
                CREATE TRIGGER reading_view_update INSTEAD OF UPDATE ON reading BEGIN
                    UPDATE reading_stored SET rowid = NEW.rowid, series = NEW.series, time = NEW.time, value = NEW.value,
                        quality = NEW.quality, detail = NEW.detail, lot_set = NEW.lot_set, seal = NEW.seal WHERE rowid = OLD.rowid;
                    UPDATE reading_recent SET rowid = NEW.rowid, series = NEW.series, time = NEW.time, value = NEW.value,
                        quality = NEW.quality, detail = NEW.detail, lot_set = NEW.lot_set, seal = NEW.seal WHERE rowid = OLD.rowid;
                    END;
                CREATE TRIGGER reading_view_delete INSTEAD OF DELETE ON reading BEGIN
                    DELETE FROM reading_recent WHERE rowid = OLD.rowid;
                    DELETE FROM reading_stored WHERE rowid = OLD.rowid;
                    END;
                CREATE TRIGGER seal_series_view_insert INSTEAD OF INSERT ON seal_series
                    BEGIN INSERT INTO seal_series_recent (seal, series, count, first, last, digest, prev, hash)
                        VALUES (NEW.seal, NEW.series, NEW.count, NEW.first, NEW.last, NEW.digest, NEW.prev, NEW.hash); END;
                CREATE TRIGGER seal_series_view_update INSTEAD OF UPDATE ON seal_series BEGIN
                    UPDATE seal_series_stored SET seal = NEW.seal, series = NEW.series, count = NEW.count, first = NEW.first,
                        last = NEW.last, digest = NEW.digest, prev = NEW.prev, hash = NEW.hash
                        WHERE series = OLD.series AND seal = OLD.seal;
                    UPDATE seal_series_recent SET seal = NEW.seal, series = NEW.series, count = NEW.count, first = NEW.first,
                        last = NEW.last, digest = NEW.digest, prev = NEW.prev, hash = NEW.hash
                        WHERE seal = OLD.seal AND series = OLD.series;
                    END;
                CREATE TRIGGER seal_series_view_delete INSTEAD OF DELETE ON seal_series BEGIN
                    DELETE FROM seal_series_recent WHERE seal = OLD.seal AND series = OLD.series;
                    DELETE FROM seal_series_stored WHERE series = OLD.series AND seal = OLD.seal;
                    END;
                """)
        }
    }
}
