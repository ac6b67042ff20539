import Foundation
import GRDB

/// A lot's record hashed in a read (a snapshot of the store), and what the approving write needs
/// to tell, cheaply, that nothing the hash covers changed since. Hashing a lot of weeks reads
/// every one of its readings (seconds); inside the write transaction that would hold the store's
/// single writer, and with it every reading's commit and the alarms evaluated after it.
///
/// The check reads again everything the digest covers except the readings (lot actions, the lot
/// sets, the placements' series, the deviations naming the lot, the definitions: small) and asks
/// whether a reading the digest would now cover was stored after the snapshot. Readings are
/// numbered (`rowid`) in the order they are stored and never changed or deleted (triggers), so
/// such a reading is one numbered after the snapshot's newest; the store's index on `rowid`
/// finds those without reading the lot's others.
struct LotRecordSnapshot: Sendable {
    let digest: LotRecordDigest
    let frame: LotRecordDigest.Frame
    /// The newest reading's number in the snapshot.
    let newestReading: Int64

    /// The lot's record as it stands in `db` (a read); nil when the lot has no readings yet.
    static func read(
        lot: String, db: Database, hashing: (@Sendable (LotRecordDigest.Series) -> Void)? = nil
    ) throws -> LotRecordSnapshot? {
        guard let through = try LotRecordDigest.approvalEnd(lot: lot, db: db) else { return nil }
        let newest = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM reading") ?? 0
        let digest = try LotRecordDigest.compute(lot: lot, through: through, db: db, hashing: hashing)
        return LotRecordSnapshot(
            digest: digest, frame: try LotRecordDigest.Frame(lot: lot, through: through, db: db), newestReading: newest)
    }

    /// What changed since the snapshot in what the digest covers, said for people; nil when
    /// nothing did (then the digest is the record as it stands in `db`).
    func change(lot: String, db: Database) throws -> String? {
        let through = digest.through
        let now = try LotRecordDigest.Frame(lot: lot, through: through, db: db)
        if now.events != frame.events { return "a lot action was recorded" }
        if now.lotSets != frame.lotSets || now.series != frame.series { return "the lot's channels changed" }
        if now.deviations != frame.deviations { return "a deviation naming the lot changed" }
        if now.definitions != frame.definitions { return "a field or spec definition changed" }
        guard !frame.series.isEmpty else { return nil }
        // `+` keeps SQLite off the (series, time) key, which would walk the lot's readings: only
        // the rows stored since the snapshot are looked at.
        let ids = frame.series.map { String($0.id) }.joined(separator: ",")
        let late = try Int64.fetchOne(db, sql: """
            SELECT time FROM reading WHERE rowid > ? AND +series IN (\(ids)) AND +time < ? LIMIT 1
            """, arguments: [newestReading, through])
        return late.map { "a reading stamped \(UTCTime.format(milliseconds: $0)) was stored" }
    }
}
