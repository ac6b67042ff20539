import GRDB

/// The store's migration for month archives (`MonthArchiver`): the record of each month moved
/// out (`archive`, append-only), each series' chain head as the last archive left it, and the
/// positions the site store confirmed, as the forwarder last wrote them.
///
/// The triggers that refuse deleting readings, seal entries and seals are made again with one
/// exception: a row whose seal lies in a month the store records as archived (with the file's
/// SHA-256, in the same transaction as the deletion) may go. Anyone who can write the file could
/// drop the triggers anyway; what this keeps is that labgate itself deletes nothing that no
/// archive holds, and a forged `archive` row has no audit entry (`audit verify` names it).
enum ArchiveMigration {
    static let name = "v7 month archives"

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(name) { db in
            try db.execute(sql: """
                CREATE TABLE archive (
                    month TEXT PRIMARY KEY,
                    file TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    first_seal INTEGER NOT NULL,
                    last_seal INTEGER NOT NULL,
                    last_seal_hash TEXT NOT NULL,
                    first_row INTEGER NOT NULL,
                    last_row INTEGER NOT NULL,
                    readings INTEGER NOT NULL,
                    seals INTEGER NOT NULL,
                    entries INTEGER NOT NULL,
                    time INTEGER NOT NULL
                );
                CREATE TABLE archive_series_head (
                    series INTEGER PRIMARY KEY,
                    seal INTEGER NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE TABLE forward_position (
                    stream TEXT PRIMARY KEY,
                    position INTEGER NOT NULL
                );
                CREATE TRIGGER archive_append_only_update BEFORE UPDATE ON archive
                    BEGIN SELECT RAISE(ABORT, 'month archives are recorded once'); END;
                CREATE TRIGGER archive_append_only_delete BEFORE DELETE ON archive
                    BEGIN SELECT RAISE(ABORT, 'month archives are recorded once'); END;
                DROP TRIGGER reading_sealed_delete;
                CREATE TRIGGER reading_sealed_delete BEFORE DELETE ON reading
                    WHEN NOT EXISTS (SELECT 1 FROM archive WHERE OLD.seal BETWEEN first_seal AND last_seal)
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never deleted'); END;
                DROP TRIGGER seal_series_append_only_delete;
                CREATE TRIGGER seal_series_append_only_delete BEFORE DELETE ON seal_series
                    WHEN NOT EXISTS (SELECT 1 FROM archive WHERE OLD.seal BETWEEN first_seal AND last_seal)
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                DROP TRIGGER reading_seal_append_only_delete;
                CREATE TRIGGER reading_seal_append_only_delete BEFORE DELETE ON reading_seal
                    WHEN NOT EXISTS (SELECT 1 FROM archive WHERE OLD.id BETWEEN first_seal AND last_seal)
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                """)
        }
    }
}
