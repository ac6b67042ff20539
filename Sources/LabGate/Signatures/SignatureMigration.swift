import GRDB

/// The store's signature table: one row per electronic signature, append-only like the other
/// record tables (each row is also carried by its `signed` audit entry, which `audit verify`
/// compares it with).
enum SignatureMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6 signatures") { db in
            try db.execute(sql: """
                -- signed_at: UTC ISO 8601 with ms; user: the kernel's name for the signer; full_name:
                -- the first field of its passwd gecos (the user name when empty); meaning: what the
                -- signature states; action: ack | close | correct | approve; subject_kind: deviation |
                -- alarm | lot; lot: the lot it belongs to, if any; content_sha256: hex SHA-256 of
                -- what was signed; audit_seq: seq of the audit entry carrying it.
                CREATE TABLE signature (
                    id INTEGER PRIMARY KEY,
                    signed_at TEXT NOT NULL,
                    user TEXT NOT NULL,
                    full_name TEXT NOT NULL,
                    meaning TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject_kind TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    lot TEXT,
                    content_sha256 TEXT NOT NULL,
                    audit_seq INTEGER NOT NULL
                );
                CREATE INDEX signature_by_subject ON signature(subject_kind, subject);
                CREATE INDEX signature_by_lot ON signature(lot);
                CREATE TRIGGER signature_append_only_update BEFORE UPDATE ON signature
                    BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
                CREATE TRIGGER signature_append_only_delete BEFORE DELETE ON signature
                    BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
                """)
        }
    }
}
