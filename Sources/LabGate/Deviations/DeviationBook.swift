import Foundation
import GRDB

/// Stored deviations: each change is committed with its audit entry (old and new record), in one
/// transaction; the engine's working state is committed with the changes it made.
public struct DeviationBook: Sendable {
    let store: ReadingStore
    /// The user deviations opened by the daemon are attributed to.
    let daemonUser: String

    public init(store: ReadingStore, daemonUser: String) {
        self.store = store
        self.daemonUser = daemonUser
    }

    // MARK: Reading

    public func list(openOnly: Bool = false) async throws -> [DeviationRecord] {
        try await store.pool.read { db in
            let sql = openOnly
                ? "SELECT record FROM deviation WHERE state != 'closed' ORDER BY start, id"
                : "SELECT record FROM deviation ORDER BY start, id"
            return try String.fetchAll(db, sql: sql).compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
        }
    }

    public func get(_ id: String) async throws -> DeviationRecord? {
        try await store.pool.read { db in try Self.fetch(id, db: db) }
    }

    static func fetch(_ id: String, db: Database) throws -> DeviationRecord? {
        try String.fetchOne(db, sql: "SELECT record FROM deviation WHERE id = ?", arguments: [id])
            .map { try AuditJSON.decode(DeviationRecord.self, $0) }
    }

    /// The engine's saved state, if any.
    public func engineState() async throws -> String? {
        try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM engine_state WHERE key = 'deviations'")
        }
    }

    // MARK: The engine's changes

    /// The highest number given so far in each year (DEV-YYYY-NNNN), from the stored ids: the
    /// seed of `DeviationLedger`'s counter.
    package func highestNumbers() async throws -> [Int: Int] {
        let ids = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM deviation") }
        return DeviationID.highest(ids)
    }

    /// Stored deviations that have not ended (whose changes the engine may still make).
    package func running() async throws -> [DeviationRecord] {
        try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM deviation WHERE state != 'closed'")
                .compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }.filter { $0.end == nil }
        }
    }

    /// A change the engine made, with the record after it as the daemon alerted it.
    public enum Change: Sendable, Equatable {
        case opened(DeviationRecord)
        case lotsAdded(DeviationRecord, added: [String])
        case recovered(DeviationRecord)

        public var record: DeviationRecord {
            switch self {
            case let .opened(record), let .lotsAdded(record, _), let .recovered(record): record
            }
        }

        /// The audit trail's action for it.
        public var action: String {
            switch self {
            case .opened: "deviation_opened"
            case .lotsAdded: "deviation_lots_added"
            case .recovered: "deviation_recovered"
            }
        }
    }

    /// Commits the engine's changes and its state in one transaction (what the daemon's writer
    /// does with `storeRecord` and `stateRecord`, for callers without one).
    public func commit(_ changes: [Change], state: String) async throws {
        try await store.pool.write { db in
            for change in changes { try write(change, db: db) }
            try saveState(state, db: db)
        }
    }

    /// A change as a record for the daemon's writer, committed in order with the readings.
    public func storeRecord(_ change: Change) -> StoreRecord {
        let record = change.record
        return StoreRecord(summary: "\(change.action) \(record.id) \(record.device) \(record.channel)") { db in
            try write(change, db: db)
        }
    }

    /// The engine's state as a record for the daemon's writer: only the latest waiting one is
    /// written (it follows every change held before it).
    public func stateRecord(_ state: String) -> StoreRecord {
        StoreRecord(summary: "deviation engine state", key: "engine_state deviations") { db in
            try saveState(state, db: db)
        }
    }

    /// Applies a change to the stored record of its id, which must be of the change's device and
    /// channel: a change never touches another channel's deviation. Writing a change again (a
    /// retried commit) changes nothing more.
    package func write(_ change: Change, db: Database) throws {
        let record = change.record
        guard let old = try Self.fetch(record.id, db: db) else {
            // Not stored: its opening was dropped by a full buffer (audited as records_lost); the
            // record as the daemon knows it stands in for it.
            try write(record, old: nil, action: change.action, user: daemonUser, reason: nil, db: db)
            return
        }
        guard old.device == record.device, old.channel == record.channel else {
            try AuditTrail.append(
                .init(
                    user: daemonUser, action: "deviation_change_refused", object: "deviation \(record.id)",
                    old: AuditJSON.encode(old), new: AuditJSON.encode(record),
                    reason: "\(change.action) of \(record.device) \(record.channel) does not apply to \(record.id) of \(old.device) \(old.channel)",
                    record: "deviation:\(record.id)"),
                db: db)
            return
        }
        var new = old
        switch change {
        case .opened:
            return
        case let .lotsAdded(_, added):
            new.lots = Array(Set(old.lots + added)).sorted()
        case let .recovered(after):
            guard old.end == nil else { return }
            new.end = after.end
            new.worst = after.worst ?? old.worst
            new.size = after.size
        }
        guard new != old else { return }
        try write(new, old: old, action: change.action, user: daemonUser, reason: nil, db: db)
    }

    public func saveState(_ state: String) async throws {
        try await store.pool.write { db in try saveState(state, db: db) }
    }

    private func saveState(_ state: String, db: Database) throws {
        try db.execute(
            sql: "INSERT INTO engine_state (key, state) VALUES ('deviations', ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state",
            arguments: [state])
    }

    // MARK: People's actions

    /// An operator acknowledges a deviation (open or recovered); `signature` (the operator's, for
    /// this deviation) is written with it, over the record as acknowledged.
    public func acknowledge(
        _ id: String, user: String, comment: String, signature: SignatureGrant? = nil
    ) async throws -> DeviationRecord {
        try await change(id, user: user, action: "deviation_acknowledged", reason: comment, signature: signature) { record in
            switch record.state {
            case .acknowledged: throw DeviationError.alreadyAcknowledged(id: id, by: record.ackedBy ?? "?")
            case .closed: throw DeviationError.closed(id: id)
            case .open, .recovered: break
            }
            record.ackedBy = user
            record.ackedAt = Date().millisecondsSince1970
            record.ackComment = comment
        }
    }

    /// QA closes a recovered, acknowledged deviation with an impact assessment; with
    /// `separateDuties`, only a user other than the one who acknowledged it; `signature` is
    /// written with it, over the record as closed.
    public func close(
        _ id: String, user: String, impact: String, separateDuties: Bool = true, signature: SignatureGrant? = nil
    ) async throws -> DeviationRecord {
        try await change(id, user: user, action: "deviation_closed", reason: impact, signature: signature) { record in
            guard record.state != .closed else { throw DeviationError.alreadyClosed(id: id) }
            guard record.end != nil else {
                throw DeviationError.stillOpen(id: id)
            }
            guard record.ackedAt != nil else {
                throw DeviationError.notAcknowledged(id: id)
            }
            try SeparationOfDuties.check(record, closer: user, enforced: separateDuties)
            record.closedBy = user
            record.closedAt = Date().millisecondsSince1970
            record.impact = impact
        }
    }

    /// Applies a person's change and, in the same transaction, the signature on it (over the
    /// record as the change's audit entry carries it, that entry just before the signature's).
    private func change(
        _ id: String, user: String, action: String, reason: String, signature: SignatureGrant?,
        update: @escaping @Sendable (inout DeviationRecord) throws -> Void
    ) async throws -> DeviationRecord {
        try await store.pool.write { db in
            guard let old = try Self.fetch(id, db: db) else { throw DeviationError.unknownDeviation(id) }
            var record = old
            try update(&record)
            try write(record, old: old, action: action, user: user, reason: reason, db: db)
            try signature?.record(content: Data(AuditJSON.encode(record).utf8), db: db)
            return record
        }
    }

    private func write(
        _ record: DeviationRecord, old: DeviationRecord?, action: String, user: String, reason: String?, db: Database
    ) throws {
        let json = AuditJSON.encode(record)
        try db.execute(
            sql: """
                INSERT INTO deviation (id, record, state, device, start) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET record = excluded.record, state = excluded.state
                """,
            arguments: [record.id, json, record.state.rawValue, record.device, record.start])
        try AuditTrail.append(
            .init(
                user: user, action: action, object: "deviation \(record.id)", old: old.map { AuditJSON.encode($0) },
                new: json, reason: reason, record: "deviation:\(record.id)"),
            db: db)
    }
}
