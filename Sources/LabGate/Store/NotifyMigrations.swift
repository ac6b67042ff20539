import GRDB

/// The store's fourth migration: alarms (what needs a person, with where its repeats and
/// escalations stand, so a restart goes on from them) and every notification attempt.
enum NotifyMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4 alarms, notifications") { db in
            try db.execute(sql: """
                -- One row per alarm: the record as JSON (AlarmRecord), updated as it goes.
                CREATE TABLE alarm (
                    id TEXT PRIMARY KEY,
                    record TEXT NOT NULL,
                    state TEXT NOT NULL,
                    deviation TEXT,
                    raised INTEGER NOT NULL
                );
                CREATE INDEX alarm_by_state ON alarm(state);
                CREATE INDEX alarm_by_deviation ON alarm(deviation);
                CREATE TRIGGER alarm_no_delete BEFORE DELETE ON alarm
                    BEGIN SELECT RAISE(ABORT, 'alarms are never deleted'); END;
                -- Every attempt to deliver a notice through a channel, append-only. time: UTC ms;
                -- result: delivered | failed | retrying; alarms and deviations: the ids the notice
                -- named, comma-separated with commas around (",ALM-2026-0001,"), for LIKE lookups.
                CREATE TABLE notification (
                    id INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    recipients TEXT NOT NULL,
                    events TEXT NOT NULL,
                    alarms TEXT NOT NULL,
                    deviations TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    result TEXT NOT NULL,
                    detail TEXT,
                    user TEXT NOT NULL
                );
                CREATE INDEX notification_by_channel ON notification(channel, time);
                CREATE TRIGGER notification_append_only_update BEFORE UPDATE ON notification
                    BEGIN SELECT RAISE(ABORT, 'notification attempts are append-only'); END;
                CREATE TRIGGER notification_append_only_delete BEFORE DELETE ON notification
                    BEGIN SELECT RAISE(ABORT, 'notification attempts are append-only'); END;
                """)
        }
    }
}
