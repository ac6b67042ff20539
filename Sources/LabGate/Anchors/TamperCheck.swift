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
        if heads.auditSeq > 0 {
            let hash = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [heads.auditSeq])
            if hash == nil {
                findings.append(Finding(
                    chain: "audit", expected: heads.auditSeq, found: store.auditSeq,
                    text: "audit entry \(heads.auditSeq), the newest the daemon wrote, is gone: the trail ends at entry \(store.auditSeq) (\(heads.auditSeq - store.auditSeq) deleted behind the daemon's back)"))
            } else if hash != heads.auditHash {
                findings.append(Finding(
                    chain: "audit", expected: heads.auditSeq, found: store.auditSeq,
                    text: "audit entry \(heads.auditSeq), the newest the daemon wrote, was replaced behind the daemon's back (its hash is not the one written)"))
            }
        }
        if heads.sealSeq > 0 {
            let hash = try String.fetchOne(db, sql: "SELECT hash FROM reading_seal WHERE id = ?", arguments: [heads.sealSeq])
            if hash == nil {
                findings.append(Finding(
                    chain: "reading_seal", expected: heads.sealSeq, found: store.sealSeq,
                    text: "reading seal \(heads.sealSeq), the newest the daemon wrote, is gone: the seals end at \(store.sealSeq) (\(heads.sealSeq - store.sealSeq) deleted behind the daemon's back, with their readings)"))
            } else if hash != heads.sealHash {
                findings.append(Finding(
                    chain: "reading_seal", expected: heads.sealSeq, found: store.sealSeq,
                    text: "reading seal \(heads.sealSeq), the newest the daemon wrote, was replaced behind the daemon's back (its hash is not the one written)"))
            }
        }
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

    static func range(_ first: Int64, _ last: Int64) -> String { first == last ? "\(first)" : "\(first)–\(last)" }
}
