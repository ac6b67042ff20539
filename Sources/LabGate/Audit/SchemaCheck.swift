import GRDB

/// The store's protective triggers against those its own migrations create. A trigger keeps rows
/// from being changed only by those who do not drop it first (anyone who can write the file can),
/// so a trigger dropped, rewritten or added is a finding of its own, even where no row shows a
/// change. The expected triggers are made, not written down: the migrations the store records as
/// applied are run on an empty in-memory database and its triggers read back, so that a new
/// migration's trigger is expected as soon as the store has been migrated to it.
enum SchemaCheck {
    struct Trigger: Sendable, Equatable {
        var name: String
        var table: String
        var sql: String?

        /// What the trigger refuses, in words: "deletions from reading_seal".
        var guards: String {
            let text = (sql ?? "").uppercased()
            if text.contains(" DELETE ON ") { return "deletions from \(table)" }
            if text.contains(" INSERT ON ") { return "insertions into \(table)" }
            return "changes to the rows of \(table)"
        }
    }

    /// What does not match, in plain words naming the trigger and its table.
    static func check(_ db: Database) throws -> [String] {
        let migrator = ReadingStore.migrator
        let known = migrator.migrations
        let applied = try migrator.appliedIdentifiers(db)
        let stored = try triggers(db)
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else {
            let names = unknown.map { "'\(TerminalText.escape($0))'" }.joined(separator: ", ")
            return ["the store has migrations this labgate does not know (\(names)): a newer labgate wrote it, and its triggers cannot be checked against this one's"]
        }
        guard let last = known.last(where: applied.contains) else {
            // Never migrated by labgate: nothing is expected; a trigger is someone else's.
            return stored.map(added)
        }
        var problems: [String] = []
        let skipped = known.prefix { $0 != last }.filter { !applied.contains($0) }
        for migration in skipped {
            problems.append("the store's record of its migrations lacks '\(migration)', though later ones are recorded (grdb_migrations was changed behind the daemon's back)")
        }
        let expected = try expectedTriggers(upTo: last)
        for trigger in expected {
            guard let found = stored.first(where: { $0.name == trigger.name }) else {
                problems.append("protective trigger \(trigger.name) on table \(trigger.table) is missing (dropped): \(trigger.guards) are no longer refused")
                continue
            }
            if found != trigger {
                let moved = found.table == trigger.table ? "" : " (it is now on table \(TerminalText.escape(found.table)))"
                problems.append("protective trigger \(trigger.name) on table \(trigger.table) was altered: its SQL is not the one the migrations create\(moved), so \(trigger.guards) may no longer be refused")
            }
        }
        for trigger in stored where !expected.contains(where: { $0.name == trigger.name }) {
            problems.append(added(trigger))
        }
        return problems
    }

    private static func added(_ trigger: Trigger) -> String {
        "trigger \(TerminalText.escape(trigger.name)) on table \(TerminalText.escape(trigger.table)) is not one the migrations create (added behind the daemon's back)"
    }

    /// The triggers of a store, in the order they were made; the forwarder's change counters left
    /// out (they stamp rows for the site store and refuse nothing: not a defence of the record).
    static func triggers(_ db: Database) throws -> [Trigger] {
        try Row.fetchAll(db, sql: "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY rowid").map {
            Trigger(name: $0[0], table: $0[1], sql: $0[2])
        }.filter { !ForwardChangeMigration.triggers.contains($0.name) }
    }

    /// The triggers the migrations up to `last` create in an empty database.
    static func expectedTriggers(upTo last: String) throws -> [Trigger] {
        let scratch = try DatabaseQueue()
        try ReadingStore.migrator.migrate(scratch, upTo: last)
        return try scratch.read(triggers)
    }
}

extension SchemaCheck {
    /// The record's problems first (what no longer matches), then the schema's (how the store's
    /// defences were changed): at most `limit` in all, and each kind among them, since many
    /// changed rows must not hide the dropped trigger that let them change, nor every trigger
    /// dropped (26 since the recent tables) hide the rows changed: the schema's take what the
    /// record's leave, and at least half.
    static func listed(_ problems: [String], schema: [String], limit: Int) -> [String] {
        let kept = Array(schema.prefix(max(limit - problems.count, limit / 2)))
        return Array(problems.prefix(limit - kept.count)) + kept
    }
}
