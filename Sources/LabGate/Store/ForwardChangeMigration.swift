import GRDB

/// Change counters for the rows that are rewritten as they go (deviations, alarms), so that the
/// site store's forwarder takes only the rows that changed since the position the site confirmed
/// instead of re-reading every row for every batch. Each insert, and each update of a row's
/// record or state, stamps the row with the table's highest counter plus one: the one writer
/// commits in order, so a row changed later never gets a smaller counter. Existing rows start
/// from their rowid (a site that holds them already keeps them unchanged: its upsert skips a
/// record it holds as is).
enum ForwardChangeMigration {
    static let name = "v9 change counters for forwarding"
    /// Its triggers, which `SchemaCheck` leaves out: they refuse nothing.
    static let triggers: Set<String> = ["deviation_changed_insert", "deviation_changed_update", "alarm_changed_insert", "alarm_changed_update"]

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(name) { db in
            for table in ["deviation", "alarm"] {
                try db.execute(sql: """
                    ALTER TABLE \(table) ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
                    UPDATE \(table) SET changed = rowid;
                    CREATE INDEX \(table)_by_changed ON \(table)(changed);
                    CREATE TRIGGER \(table)_changed_insert AFTER INSERT ON \(table)
                        BEGIN UPDATE \(table) SET changed = (SELECT max(changed) FROM \(table)) + 1 WHERE id = NEW.id; END;
                    CREATE TRIGGER \(table)_changed_update AFTER UPDATE OF record, state ON \(table)
                        BEGIN UPDATE \(table) SET changed = (SELECT max(changed) FROM \(table)) + 1 WHERE id = NEW.id; END;
                    """)
            }
        }
    }
}
