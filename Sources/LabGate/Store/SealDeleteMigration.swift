import GRDB

/// The store's fourth migration: reading seals refuse deletion as they refuse updates. Until it,
/// a seal row could be deleted without dropping anything first; `audit verify` finds a deleted
/// seal by the chain (a missing id, a broken previous hash) and a dropped trigger by
/// `SchemaCheck`.
enum SealDeleteMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4 reading seals never deleted") { db in
            try db.execute(sql: """
                CREATE TRIGGER reading_seal_append_only_delete BEFORE DELETE ON reading_seal
                    BEGIN SELECT RAISE(ABORT, 'reading seals are append-only'); END;
                """)
        }
    }
}
