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

    /// Ids for new deviations: DEV-YYYY-NNNN, numbered per year of their start.
    public func nextID(year: Int, reserved: inout [Int: Int]) async throws -> String {
        let prefix = "DEV-\(year)-"
        let stored = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM deviation WHERE id LIKE ?", arguments: [prefix + "%"])
        }
        let highest = stored.compactMap { Int($0.dropFirst(prefix.count)) }.max() ?? 0
        let number = max(highest, reserved[year] ?? 0) + 1
        reserved[year] = number
        return prefix + String(format: "%04d", number)
    }

    /// A committed change, with the record after it (for alerts).
    public enum Committed: Sendable {
        case opened(DeviationRecord)
        case lotsAdded(DeviationRecord, added: [String])
        case recovered(DeviationRecord)
    }

    /// Commits the engine's changes (openings already carry their ids) and its state.
    public func commit(_ changes: [DeviationEngine.Change], state: String) async throws -> [Committed] {
        try await store.pool.write { db in
            var committed: [Committed] = []
            for change in changes {
                switch change {
                case let .open(opening):
                    let record = opening.record
                    try write(record, old: nil, action: "deviation_opened", user: daemonUser, reason: nil, db: db)
                    committed.append(.opened(record))
                case let .lotsAdded(id, lots, _):
                    guard let old = try Self.fetch(id, db: db) else { continue }
                    var record = old
                    record.lots = Array(Set(old.lots + lots)).sorted()
                    try write(record, old: old, action: "deviation_lots_added", user: daemonUser, reason: nil, db: db)
                    committed.append(.lotsAdded(record, added: lots))
                case let .recovered(id, end, worst, size, _):
                    guard let old = try Self.fetch(id, db: db) else { continue }
                    var record = old
                    record.end = end
                    record.worst = worst ?? old.worst
                    record.size = size
                    try write(record, old: old, action: "deviation_recovered", user: daemonUser, reason: nil, db: db)
                    committed.append(.recovered(record))
                }
            }
            try saveState(state, db: db)
            return committed
        }
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

    /// An operator acknowledges a deviation (open or recovered).
    public func acknowledge(_ id: String, user: String, comment: String) async throws -> DeviationRecord {
        try await change(id, user: user, action: "deviation_acknowledged", reason: comment) { record in
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

    /// QA closes a recovered, acknowledged deviation with an impact assessment.
    public func close(_ id: String, user: String, impact: String) async throws -> DeviationRecord {
        try await change(id, user: user, action: "deviation_closed", reason: impact) { record in
            guard record.state != .closed else { throw DeviationError.alreadyClosed(id: id) }
            guard record.end != nil else {
                throw DeviationError.stillOpen(id: id)
            }
            guard record.ackedAt != nil else {
                throw DeviationError.notAcknowledged(id: id)
            }
            record.closedBy = user
            record.closedAt = Date().millisecondsSince1970
            record.impact = impact
        }
    }

    private func change(
        _ id: String, user: String, action: String, reason: String,
        update: @escaping @Sendable (inout DeviationRecord) throws -> Void
    ) async throws -> DeviationRecord {
        try await store.pool.write { db in
            guard let old = try Self.fetch(id, db: db) else { throw DeviationError.unknownDeviation(id) }
            var record = old
            try update(&record)
            try write(record, old: old, action: action, user: user, reason: reason, db: db)
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
