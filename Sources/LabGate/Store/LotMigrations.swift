import GRDB

/// The store's second migration: lots, tagged readings, sealed reading batches, deviations, the
/// audit trail and the deviation engine's working state.
enum LotMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2 lots, deviations, audit") { db in
            try db.execute(sql: """
                -- A distinct set of lots (ids sorted, comma-separated); readings point at one.
                CREATE TABLE lot_set (
                    id INTEGER PRIMARY KEY,
                    lots TEXT NOT NULL UNIQUE
                );
                ALTER TABLE reading ADD COLUMN lot_set INTEGER REFERENCES lot_set(id);
                -- The committed batch (seal) that holds the reading.
                ALTER TABLE reading ADD COLUMN seal INTEGER;
                -- One row per committed batch of readings: a digest of its rows, chained by hash.
                CREATE TABLE reading_seal (
                    id INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    prev TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                -- Lot actions, append-only; placements are derived from them. A correction names
                -- the event it corrects and what that event should have said (device, spec, or
                -- `effective`, the time it really took effect); `time` is always when it was recorded.
                CREATE TABLE lot_event (
                    id INTEGER PRIMARY KEY,
                    lot TEXT NOT NULL,
                    action TEXT NOT NULL,
                    device TEXT,
                    spec TEXT,
                    time INTEGER NOT NULL,
                    user TEXT NOT NULL,
                    note TEXT,
                    corrects INTEGER REFERENCES lot_event(id),
                    effective INTEGER
                );
                CREATE INDEX lot_event_by_lot ON lot_event(lot, id);
                CREATE TABLE deviation (
                    id TEXT PRIMARY KEY,
                    record TEXT NOT NULL,
                    state TEXT NOT NULL,
                    device TEXT NOT NULL,
                    start INTEGER NOT NULL
                );
                CREATE INDEX deviation_by_state ON deviation(state);
                -- The audit trail: append-only, each entry chained to the one before by its hash.
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    user TEXT NOT NULL,
                    action TEXT NOT NULL,
                    object TEXT NOT NULL,
                    old TEXT,
                    new TEXT,
                    reason TEXT,
                    record TEXT,
                    prev TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_by_object ON audit(object);
                CREATE INDEX audit_by_record ON audit(record);
                -- Working state of the deviation engine (runs, delays), so a restart continues them.
                CREATE TABLE engine_state (
                    key TEXT PRIMARY KEY,
                    state TEXT NOT NULL
                );
                CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                CREATE TRIGGER lot_event_append_only_update BEFORE UPDATE ON lot_event
                    BEGIN SELECT RAISE(ABORT, 'lot events are append-only'); END;
                CREATE TRIGGER lot_event_append_only_delete BEFORE DELETE ON lot_event
                    BEGIN SELECT RAISE(ABORT, 'lot events are append-only'); END;
                CREATE TRIGGER reading_seal_append_only_update BEFORE UPDATE ON reading_seal
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                CREATE TRIGGER deviation_no_delete BEFORE DELETE ON deviation
                    BEGIN SELECT RAISE(ABORT, 'deviations are never deleted'); END;
                """)
            // Readings stored before this migration are sealed as they are, in one batch.
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reading") ?? 0
            if count > 0 {
                let digest = try ReadingSeal.digestAll(db: db)
                try db.execute(sql: "UPDATE reading SET seal = 1")
                try ReadingSeal.append(count: count, digest: digest, time: 0, db: db)
            }
            try db.execute(sql: """
                CREATE TRIGGER reading_sealed_update BEFORE UPDATE ON reading
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never changed'); END;
                CREATE TRIGGER reading_sealed_delete BEFORE DELETE ON reading
                    BEGIN SELECT RAISE(ABORT, 'stored readings are never deleted'); END;
                """)
        }
    }
}
