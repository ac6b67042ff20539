import GRDB
import Synchronization

/// The heads of the chains as this process wrote them: a transaction observer on the store's
/// writer connection that learns, after each commit, the newest audit entry and reading seal the
/// commit inserted. What the store holds is compared with it (`TamperCheck`): rows deleted or
/// rewritten by another process (the sqlite3 shell, triggers dropped) are never seen here, so
/// the store then ends before, or differently from, what the daemon knows it wrote.
public final class HeadTracker: TransactionObserver, Sendable {
    private struct State {
        var heads = ChainHeads.empty
        var known = false
        /// Rows the transaction under way inserted (their row ids: the audit seq, the seal id).
        var audit: Int64?
        var seal: Int64?
        var firstAudit: Int64?
        var firstSeal: Int64?
        /// Breaks found at commits, not yet taken by `takeBreaks()`.
        var breaks: [TamperCheck.Finding] = []
        var lotEvent: Int64?
        var deviationsChanged = false
        /// Deviations inserted (an update of one, its acknowledgement or closure, adds none).
        var deviationsAdded: Int64 = 0
        var onRecordChange: (@Sendable (ChainHeads, String) -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    /// What this process wrote last, nil until `start(from:)` read the store's heads.
    public var heads: ChainHeads? { state.withLock { $0.known ? $0.heads : nil } }

    /// Takes the store's heads as they are when the daemon starts: what it wrote from then on is
    /// added by commits. (Whether the store ended where it did at the last stop is the anchors'
    /// part: `audit verify` checks every anchor.)
    package func start(from db: Database) throws {
        let heads = try ChainHeads.read(db)
        state.withLock {
            $0.heads = heads
            $0.known = true
        }
    }

    /// Called (on the writer's queue, right after the commit) when a commit changed lot events or
    /// deviations, with `lot` or `deviation`: each lot or deviation action is anchored at once.
    public func onRecordChange(_ body: @escaping @Sendable (ChainHeads, String) -> Void) {
        state.withLock { $0.onRecordChange = body }
    }

    /// Takes the store's current head as the one to compare with from now on, after a
    /// difference was reported (so it is reported once); only if no commit of the daemon's has
    /// moved the heads on since `checked` (they then follow the store's rows already).
    package func adopt(_ heads: ChainHeads, ifStill checked: ChainHeads) {
        state.withLock { state in
            if state.heads == checked { state.heads = heads }
        }
    }

    // MARK: TransactionObserver

    public func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table): ["audit", "reading_seal", "lot_event", "deviation"].contains(table)
        case .update(let table, _): table == "deviation"
        case .delete: false
        }
    }

    public func databaseDidChange(with event: DatabaseEvent) {
        let table = event.tableName
        let rowID = event.rowID
        let inserted = event.kind == .insert
        state.withLock { state in
            switch table {
            case "audit":
                state.audit = max(state.audit ?? rowID, rowID)
                state.firstAudit = min(state.firstAudit ?? rowID, rowID)
            case "reading_seal":
                state.seal = max(state.seal ?? rowID, rowID)
                state.firstSeal = min(state.firstSeal ?? rowID, rowID)
            case "lot_event": state.lotEvent = max(state.lotEvent ?? rowID, rowID)
            case "deviation":
                state.deviationsChanged = true
                if inserted { state.deviationsAdded += 1 }
            default: break
            }
        }
    }

    /// What the commits found since last asked: a row the daemon appended that does not follow
    /// the head it wrote before (the rows between were deleted or replaced behind its back).
    /// Found here, at the commit, because the daemon's next row takes the number of a deleted
    /// one: a later look at "the row the daemon wrote last" would find it there.
    public func takeBreaks() -> [TamperCheck.Finding] {
        state.withLock { state in
            defer { state.breaks = [] }
            return state.breaks
        }
    }

    public func databaseDidCommit(_ db: Database) {
        let (inserted, first, before) = state.withLock { state in
            defer { Self.clear(&state) }
            return (
                (state.audit, state.seal, state.lotEvent, state.deviationsChanged, state.deviationsAdded),
                (state.firstAudit, state.firstSeal),
                state.known ? state.heads : nil)
        }
        var breaks: [TamperCheck.Finding] = []
        if let before, let seq = first.0,
            let found = Self.continuity(db, table: "audit", key: "seq", first: seq, head: before.auditSeq, hash: before.auditHash)
        {
            breaks.append(TamperCheck.Finding(chain: "audit", expected: before.auditSeq, found: seq - 1, text: "audit entry \(seq), written now, " + found))
        }
        if let before, let id = first.1,
            let found = Self.continuity(db, table: "reading_seal", key: "id", first: id, head: before.sealSeq, hash: before.sealHash)
        {
            breaks.append(TamperCheck.Finding(chain: "reading_seal", expected: before.sealSeq, found: id - 1, text: "reading seal \(id), written now, " + found))
        }
        // The rows this commit inserted, read by their numbers (not "the newest", which another
        // process could have added since).
        let auditHash = inserted.0.flatMap { try? String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [$0]) }
        let sealHash = inserted.1.flatMap { try? String.fetchOne(db, sql: "SELECT hash FROM reading_seal WHERE id = ?", arguments: [$0]) }
        let (heads, notify) = state.withLock { state -> (ChainHeads, (@Sendable (ChainHeads, String) -> Void)?) in
            if let seq = inserted.0, let auditHash {
                state.heads.auditSeq = seq
                state.heads.auditHash = auditHash
            }
            if let id = inserted.1, let sealHash {
                state.heads.sealSeq = id
                state.heads.sealHash = sealHash
            }
            if let id = inserted.2 { state.heads.lotEvents = max(state.heads.lotEvents, id) }
            // Counted, not read: a count read now would take in a deletion behind the daemon's back.
            state.heads.deviations += inserted.4
            state.breaks += breaks
            let recordChanged = inserted.2 != nil || inserted.3
            return (state.heads, recordChanged ? state.onRecordChange : nil)
        }
        notify?(heads, inserted.2 != nil ? "lot" : "deviation")
    }

    public func databaseDidRollback(_ db: Database) {
        state.withLock { Self.clear(&$0) }
    }

    private static func clear(_ state: inout State) {
        state.audit = nil
        state.seal = nil
        state.firstAudit = nil
        state.firstSeal = nil
        state.lotEvent = nil
        state.deviationsChanged = false
        state.deviationsAdded = 0
    }

    /// Whether the first row a commit appended to a chain follows the head written before; if
    /// not, how it does not.
    private static func continuity(_ db: Database, table: String, key: String, first: Int64, head: Int64, hash: String) -> String? {
        guard let prev = try? String.fetchOne(db, sql: "SELECT prev FROM \(table) WHERE \(key) = ?", arguments: [first]) else {
            return nil
        }
        let (row, rows) = table == "audit" ? ("entry", "entries") : ("seal", "seals")
        if first - 1 < head {
            return "follows \(row) \(first - 1), but the newest the daemon wrote was \(head): \(rows) \(TamperCheck.range(first, head)) (\(head - first + 1)) were deleted behind its back"
        }
        if first - 1 > head {
            return "follows \(row) \(first - 1), but the newest the daemon wrote was \(head): \(rows) \(TamperCheck.range(head + 1, first - 1)) were added behind its back"
        }
        if prev != hash {
            return "follows \(row) \(head), the newest the daemon wrote, by another hash: \(row) \(head) was replaced behind its back"
        }
        return nil
    }
}
