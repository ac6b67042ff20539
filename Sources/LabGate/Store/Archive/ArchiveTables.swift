import GRDB

/// The one place that names the store's reading tables for a month's move: what an archive file
/// holds, how a month's rows are copied into it (from the live store, attached as `live`), how
/// they are deleted from the live store, and the views that read archives and the live store as
/// one. A change of the live store's reading tables (e.g. tables of recent rows in front of
/// `reading` and `seal_series`) changes this file, and the move follows.
enum ArchiveTables {
    /// An archive file's schema: the reading tables as the live store has them (same columns,
    /// same clustering), the names they refer to (whole copies: small), and what the file holds.
    static let schema = """
        CREATE TABLE quality (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE series (id INTEGER PRIMARY KEY, device TEXT NOT NULL, channel TEXT NOT NULL, UNIQUE (device, channel));
        CREATE TABLE lot_set (id INTEGER PRIMARY KEY, lots TEXT NOT NULL UNIQUE);
        CREATE TABLE reading (
            rowid INTEGER NOT NULL, series INTEGER NOT NULL, time INTEGER NOT NULL, value REAL,
            quality INTEGER NOT NULL, detail TEXT, lot_set INTEGER, seal INTEGER,
            PRIMARY KEY (series, time, rowid)
        ) WITHOUT ROWID;
        CREATE INDEX reading_by_rowid ON reading(rowid);
        CREATE TABLE reading_seal (
            id INTEGER PRIMARY KEY, time INTEGER NOT NULL, count INTEGER NOT NULL, digest TEXT NOT NULL,
            prev TEXT NOT NULL, hash TEXT NOT NULL, format INTEGER
        );
        CREATE TABLE seal_series (
            seal INTEGER NOT NULL, series INTEGER NOT NULL, count INTEGER NOT NULL, first INTEGER NOT NULL,
            last INTEGER NOT NULL, digest TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL,
            PRIMARY KEY (series, seal)
        ) WITHOUT ROWID;
        CREATE INDEX seal_series_by_seal ON seal_series(seal, series);
        CREATE INDEX seal_series_by_last ON seal_series(series, last);
        CREATE TABLE archive_info (
            month TEXT NOT NULL, first_seal INTEGER NOT NULL, last_seal INTEGER NOT NULL,
            first_row INTEGER NOT NULL, last_row INTEGER NOT NULL, store TEXT NOT NULL, created INTEGER NOT NULL
        );
        """

    /// Which of a month's ranges a statement's `?1...?2` are: its seals' ids or its readings' rows.
    enum Range { case none, seals, rows }

    /// Copies the month from `live` (attached) into the archive.
    static let copy: [(sql: String, range: Range)] = [
        ("INSERT INTO quality SELECT code, name FROM live.quality", .none),
        ("INSERT INTO series SELECT id, device, channel FROM live.series", .none),
        ("INSERT INTO lot_set SELECT id, lots FROM live.lot_set", .none),
        ("""
        INSERT INTO reading (rowid, series, time, value, quality, detail, lot_set, seal)
            SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM live.reading
            WHERE rowid BETWEEN ?1 AND ?2 ORDER BY series, time, rowid
        """, .rows),
        ("""
        INSERT INTO reading_seal (id, time, count, digest, prev, hash, format)
            SELECT id, time, count, digest, prev, hash, format FROM live.reading_seal WHERE id BETWEEN ?1 AND ?2
        """, .seals),
        ("""
        INSERT INTO seal_series (seal, series, count, first, last, digest, prev, hash)
            SELECT seal, series, count, first, last, digest, prev, hash FROM live.seal_series
            WHERE seal BETWEEN ?1 AND ?2 ORDER BY series, seal
        """, .seals),
    ]

    /// Deletes the month from the live store (the triggers let its rows go only once the
    /// `archive` row naming them is written); each with the count it must delete. In a store with
    /// recent tables (`RecentTablesMigration`) the month's rows are in the clustered tables once
    /// the recent ones were moved (`RecentMove`, run first), and they are deleted there: a delete
    /// through the views would count no rows.
    static func delete(recent: Bool) -> [(sql: String, range: Range, counted: Counted)] {
        let (readings, entries) = recent ? ("reading_stored", "seal_series_stored") : ("reading", "seal_series")
        return [
            ("DELETE FROM \(readings) WHERE rowid BETWEEN ?1 AND ?2", .rows, .readings),
            ("DELETE FROM \(entries) WHERE seal BETWEEN ?1 AND ?2", .seals, .entries),
            ("DELETE FROM reading_seal WHERE id BETWEEN ?1 AND ?2", .seals, .seals),
        ]
    }

    enum Counted {
        case readings, entries, seals

        func of(_ archive: MonthArchive) -> Int64 {
            switch self {
            case .readings: archive.readings
            case .entries: archive.entries
            case .seals: archive.seals
            }
        }
    }

    /// (first, last) of each; a month without readings has last = first - 1 (BETWEEN finds none).
    static func arguments(_ range: Range, seals: (Int64, Int64), rows: (Int64, Int64)) -> StatementArguments {
        switch range {
        case .none: []
        case .seals: [seals.0, seals.1]
        case .rows: [rows.0, rows.1]
        }
    }

    /// Each series' last entry among seals `?1...?2`: the heads the live store keeps.
    static let seriesHeads = """
        SELECT series, seal, hash FROM seal_series AS s
        WHERE seal BETWEEN ?1 AND ?2
          AND seal = (SELECT max(seal) FROM seal_series WHERE series = s.series AND seal <= ?2)
        """

    /// Temporary views, named as the tables, that read the attached archives (`schemas`) and the
    /// live store as one (temp objects are found before main's).
    static func views(over schemas: [String]) -> [String] {
        let tables = [
            ("reading", "rowid, series, time, value, quality, detail, lot_set, seal"),
            ("reading_seal", "id, time, count, digest, prev, hash, format"),
            ("seal_series", "seal, series, count, first, last, digest, prev, hash"),
        ]
        return tables.map { table, columns in
            let arms = (schemas + ["main"]).map { "SELECT \(columns) FROM \($0).\(table)" }
            return "CREATE TEMP VIEW \(table) AS " + arms.joined(separator: " UNION ALL ")
        }
    }
}
