import GRDB

/// Separation of duties for deviations: the QA user who closes a deviation (signs off its impact)
/// is not the one who acknowledged it, so that no one alone both reacts to an excursion and
/// judges it. On by default; `roles: { separate_duties: false }` turns it off for a site too
/// small to have two people, and the daemon audits each config load that does.
public enum SeparationOfDuties {
    /// Refuses `closer` closing `record` when they acknowledged it and the rule is `enforced`.
    public static func check(_ record: DeviationRecord, closer: String, enforced: Bool) throws(DeviationError) {
        guard enforced, let acknowledger = record.ackedBy, acknowledger == closer else { return }
        throw DeviationError.sameUser(id: record.id, acknowledgedBy: acknowledger, closer: closer)
    }

    /// The audit entry of a config load that turns the rule off (nil when it is on).
    public static func loadEntry(_ config: Config, user: String) -> AuditEntry.Draft? {
        guard !config.roles.separateDuties else { return nil }
        return AuditEntry.Draft(
            user: user, action: "separation_of_duties_off", object: "config \(config.file)",
            new: AuditJSON.encode(["separate_duties": false]),
            reason: "roles: { separate_duties: false } in \(config.file): the user who acknowledged a deviation may also close it")
    }
}

extension SeparationOfDuties {
    /// The users who corrected a lot's actions.
    public static func correctors(ofLot lot: String, db: Database) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT DISTINCT user FROM lot_event WHERE lot = ? AND action = 'correct' ORDER BY user",
            arguments: [lot])
    }

    /// Refuses `approver` approving `lot` when they corrected it and the rule is `enforced`: no
    /// one approves a record they changed.
    public static func checkApproval(lot: String, approver: String, enforced: Bool, db: Database) throws {
        guard enforced, try correctors(ofLot: lot, db: db).contains(approver) else { return }
        throw SignatureError.approverCorrected(lot: lot, user: approver)
    }
}
