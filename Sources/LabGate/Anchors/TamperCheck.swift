import GRDB

/// Compares the store with the heads the daemon wrote (`HeadTracker`): the newest audit entry and
/// reading seal must still be there with the hash they were written with, and no lot event or
/// deviation may have gone. Cheap (a few lookups by primary key), so the daemon runs it every few
/// seconds; rows deleted or rewritten behind its back are then known within that time.
public enum TamperCheck {
    public struct Finding: Sendable, Equatable {
        /// `audit`, `reading_seal`, `lot_event` or `deviation`.
        public var chain: String
        /// What the daemon wrote last (seq or count) and what the store holds now.
        public var expected: Int64
        public var found: Int64
        public var text: String
    }

    package static func check(_ db: Database, against heads: ChainHeads) throws -> [Finding] {
        var findings: [Finding] = []
        let store = try ChainHeads.read(db)
        findings += try head(
            db, chain: "audit", sql: "SELECT hash FROM audit WHERE seq = ?", wrote: heads.auditSeq, hash: heads.auditHash,
            storeEnds: store.auditSeq, name: "audit entry", gone: { "the trail ends at entry \($0) (\($1) deleted behind the daemon's back)" })
        findings += try head(
            db, chain: "reading_seal", sql: "SELECT hash FROM reading_seal WHERE id = ?", wrote: heads.sealSeq, hash: heads.sealHash,
            storeEnds: store.sealSeq, name: "reading seal",
            gone: { "the seals end at \($0) (\($1) deleted behind the daemon's back, with their readings)" })
        if store.lotEvents < heads.lotEvents {
            findings.append(Finding(
                chain: "lot_event", expected: heads.lotEvents, found: store.lotEvents,
                text: "lot events \(Self.range(store.lotEvents + 1, heads.lotEvents)) are gone (deleted behind the daemon's back)"))
        }
        if store.deviations < heads.deviations {
            findings.append(Finding(
                chain: "deviation", expected: heads.deviations, found: store.deviations,
                text: "\(heads.deviations - store.deviations) of the \(heads.deviations) deviations are gone (deleted behind the daemon's back)"))
        }
        return findings
    }

    /// The newest row of one chain the daemon wrote: still there, with the hash it was written with.
    private static func head(
        _ db: Database, chain: String, sql: String, wrote seq: Int64, hash written: String, storeEnds: Int64, name: String,
        gone: (_ storeEnds: Int64, _ deleted: Int64) -> String
    ) throws -> [Finding] {
        guard seq > 0 else { return [] }
        let hash = try String.fetchOne(db, sql: sql, arguments: [seq])
        // The newest seal may have moved to a month archive since (an idle gateway).
        if hash == nil, chain == "reading_seal", seq <= (try ArchivedHeads.seal(db).id) { return [] }
        let prefix = "\(name) \(seq), the newest the daemon wrote,"
        if hash == nil {
            return [Finding(chain: chain, expected: seq, found: storeEnds, text: "\(prefix) is gone: \(gone(storeEnds, seq - storeEnds))")]
        }
        guard hash == written else {
            return [Finding(
                chain: chain, expected: seq, found: storeEnds,
                text: "\(prefix) was replaced behind the daemon's back (its hash is not the one written)")]
        }
        return []
    }

    static func range(_ first: Int64, _ last: Int64) -> String { first == last ? "\(first)" : "\(first)–\(last)" }
}
