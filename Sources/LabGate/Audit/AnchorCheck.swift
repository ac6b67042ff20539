import Foundation
import GRDB

/// Checks the store against the anchors the daemon wrote outside it (`Anchor`): no chain may end
/// before an anchor, and every row an anchor named must still be there with the hash it named.
/// Deleting the newest rows leaves every remaining hash intact, so only this finds it: it names
/// the chain, the rows missing, how many, and since when they are anchored.
public enum AnchorCheck {
    public struct Result: Sendable, Codable, Equatable {
        /// The latest anchor the store was checked against, e.g. "anchor file /var/log/labgate/
        /// anchors.jsonl, 2026-11-29T22:10:00.000Z (periodic): audit entry 1050, reading seal 3002".
        public var checkedAgainst: String?
        /// Anchors read, from every source.
        public var anchors = 0
        public var problems: [String] = []
        /// Sources that could not be read, and why; what was therefore not checked.
        public var notes: [String] = []

        public init(checkedAgainst: String? = nil, anchors: Int = 0, problems: [String] = [], notes: [String] = []) {
            self.checkedAgainst = checkedAgainst
            self.anchors = anchors
            self.problems = problems
            self.notes = notes
        }
    }

    /// Reads the anchors from `sources`, then the store (in that order: every anchor then names
    /// rows committed before the store is read).
    public static func check(_ store: ReadingStore, sources: [AnchorSource]) async throws -> Result {
        let path = StorePath.absolute(store.path)
        var anchors: [(Anchor, AnchorSource)] = []
        var notes: [String] = []
        for source in sources {
            let loaded = await source.load(store: path)
            anchors += loaded.anchors.map { ($0, source) }
            if let problem = loaded.problem { notes.append("\(source) not read: \(problem)") }
            if let note = loaded.note { notes.append(note) }
        }
        let found = anchors
        var result = try await store.pool.read { db in try check(db, anchors: found) }
        result.notes = notes + result.notes
        return result
    }

    package static func check(_ db: Database, anchors: [(anchor: Anchor, source: AnchorSource)]) throws -> Result {
        var result = Result(anchors: anchors.count)
        guard let latest = anchors.max(by: { $0.anchor.time < $1.anchor.time }) else {
            result.notes.append("no anchors found: where the record ends was not checked")
            return result
        }
        result.checkedAgainst = describe(latest)
        let store = try ChainHeads.read(db)
        let byTime = anchors.sorted { $0.anchor.time < $1.anchor.time }
        result.problems += try chain(
            db, byTime, name: "audit trail", row: "audit entry", rows: "audit entries", table: "audit", key: "seq",
            storeHead: store.auditSeq, seq: \.auditSeq, hash: \.auditHash)
        result.problems += try chain(
            db, byTime, name: "reading seal chain", row: "reading seal", rows: "reading seals", table: "reading_seal", key: "id",
            storeHead: store.sealSeq, seq: \.sealSeq, hash: \.sealHash, with: " and their readings")
        if let most = byTime.max(by: { $0.anchor.heads.lotEvents < $1.anchor.heads.lotEvents }),
            most.anchor.heads.lotEvents > store.lotEvents
        {
            let since = byTime.first { $0.anchor.heads.lotEvents > store.lotEvents }!
            let top = most.anchor.heads.lotEvents
            let missing = top - store.lotEvents == 1
                ? "lot event \(top) is missing (deleted)"
                : "lot events \(TamperCheck.range(store.lotEvents + 1, top)) (\(top - store.lotEvents)) are missing (deleted)"
            result.problems.append(
                "\(missing): the store's last is \(store.lotEvents), anchored since \(UTCTime.format(since.anchor.time)), last in \(describe(most))")
        }
        if let most = byTime.max(by: { $0.anchor.heads.deviations < $1.anchor.heads.deviations }),
            most.anchor.heads.deviations > store.deviations
        {
            let since = byTime.first { $0.anchor.heads.deviations > store.deviations }!
            result.problems.append(
                "deviations: \(most.anchor.heads.deviations - store.deviations) of \(most.anchor.heads.deviations) are missing (deleted): the store holds \(store.deviations), anchored since \(UTCTime.format(since.anchor.time)), last in \(describe(most))")
        }
        return result
    }

    /// One chain: its tail against the highest anchored row, then every anchored row it still
    /// holds against the hash anchored for it (the first mismatch named, the rest counted).
    private static func chain(
        _ db: Database, _ anchors: [(anchor: Anchor, source: AnchorSource)], name: String, row singular: String, rows: String, table: String,
        key: String, storeHead: Int64, seq: KeyPath<ChainHeads, Int64>, hash: KeyPath<ChainHeads, String>,
        with extra: String = ""
    ) throws -> [String] {
        var problems: [String] = []
        if let most = anchors.max(by: { $0.anchor.heads[keyPath: seq] < $1.anchor.heads[keyPath: seq] }),
            most.anchor.heads[keyPath: seq] > storeHead
        {
            let top = most.anchor.heads[keyPath: seq]
            let since = anchors.first { $0.anchor.heads[keyPath: seq] > storeHead }!
            let missing = top - storeHead == 1
                ? "\(singular) \(top)\(extra) is missing (deleted)"
                : "\(rows) \(TamperCheck.range(storeHead + 1, top)) (\(top - storeHead))\(extra) are missing (deleted)"
            problems.append(
                "the \(name) ends before its anchor: \(missing); the store ends at \(storeHead), anchored past it since \(UTCTime.format(since.anchor.time)) (\(since.source)), last in \(describe(most))")
        }
        let statement = try db.makeStatement(sql: "SELECT hash FROM \(table) WHERE \(key) = ?")
        // Seals moved to month archives are checked there (`ArchiveCheck`).
        let archived = table == "reading_seal" ? try ArchivedHeads.seal(db).id : 0
        var checked: Set<Int64> = []
        var mismatches: [(Int64, (anchor: Anchor, source: AnchorSource))] = []
        for anchored in anchors {
            let row = anchored.anchor.heads[keyPath: seq]
            guard row > 0, row <= storeHead, checked.insert(row).inserted else { continue }
            let stored = try String.fetchOne(statement, arguments: [row])
            if stored == nil && row <= archived { continue }
            if stored != anchored.anchor.heads[keyPath: hash] { mismatches.append((row, anchored)) }
        }
        if let (row, first) = mismatches.first {
            let more = mismatches.count > 1 ? " (and \(mismatches.count - 1) later anchored rows)" : ""
            problems.append(
                "the \(name): \(singular) \(row) is not the one anchored at \(UTCTime.format(first.anchor.time)) (\(first.source)): deleted and written anew, or rewritten\(more)")
        }
        return problems
    }

    static func describe(_ anchored: (anchor: Anchor, source: AnchorSource)) -> String {
        "\(anchored.source), \(UTCTime.format(anchored.anchor.time)) (\(anchored.anchor.reason)): \(anchored.anchor.heads.summary)"
    }
}

extension AuditVerifier.Report {
    /// Adds the anchor check: its problems come first (a record that ends early is the finding
    /// that matters most, and nothing else can show it).
    public mutating func apply(_ result: AnchorCheck.Result, limit: Int = 20) {
        anchors = result
        problems = Array((result.problems + problems).prefix(limit))
    }
}
