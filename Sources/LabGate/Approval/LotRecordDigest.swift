import Crypto
import Foundation
import GRDB

/// What QA's approval of a lot signs: the lot's record as it stands, as the facts the lot report
/// is computed from — the lot's actions (corrections included), a SHA-256 per series and
/// placement over every reading of the lot (time, value, quality, detail; late ones included),
/// every deviation naming the lot with its state, and the audit entries recording the fields and
/// specs its figures are judged by. Not in it: when a report was generated, the store's path,
/// the integrity heads (they move with every audit entry), notifications, the signatures and the
/// approval state themselves. The daemon computes it from the store (the client sends no hash);
/// the report computes it the same way to tell an approval still standing from a superseded one.
///
/// A lot still inside is covered up to `through` (the newest reading stored when it was
/// approved): readings after it are not a change to what was signed, a reading stamped before it
/// that arrives later is.
public struct LotRecordDigest: Sendable, Codable, Hashable {
    /// One channel of one placement: how many readings of the lot, and the SHA-256 over them.
    public struct Series: Sendable, Codable, Hashable {
        public var device: String
        public var channel: String
        /// UTC milliseconds, [from, to).
        public var from: Int64
        public var to: Int64
        public var readings: Int
        public var sha256: String
    }

    public var lot: String
    /// UTC milliseconds: readings stamped before it are covered.
    public var through: Int64
    public var events: [LotEvent]
    public var series: [Series]
    public var deviations: [DeviationRecord]
    /// Hashes of the audit entries recording the lot's device fields and specs up to `through`.
    public var definitions: [String]

    /// The SHA-256 (hex) of the canonical JSON of all of the above: the approval's content hash.
    public var sha256: String {
        FieldDigest.hex(SHA256.hash(data: Data(AuditJSON.encode(self).utf8)))
    }

    public struct NotFound: Error, CustomStringConvertible {
        public var lot: String
        public var description: String { "no lot '\(lot)' in the store" }
    }

    /// Where a new approval's coverage ends: the end of the lot's last placement, or for a lot
    /// still inside, just after its newest stored reading (nil when it has none yet).
    public static func approvalEnd(lot: String, db: Database) throws -> Int64? {
        let events = try LotEvent.fetchAll(db, lot: lot)
        guard !events.isEmpty else { throw NotFound(lot: lot) }
        let placements = Placement.fold(events)
        guard let last = placements.last else { return nil }
        if let end = last.end { return end }
        let sets = try lotSets(lot, db: db)
        // Per table: the join's constraint does not reach into the `reading` view.
        let newest = try RecentMove.readingTables(db).compactMap { table in
            try Int64.fetchOne(db, sql: """
                SELECT MAX(r.time) FROM \(table) r JOIN series s ON s.id = r.series
                WHERE s.device = ? AND r.time >= ? AND r.lot_set IN (\(sqlList(sets)))
                """, arguments: [last.device, last.start])
        }.max()
        return newest.map { $0 + 1 }
    }

    /// The lot's record covered up to `through`. `hashing` is called before each series'
    /// readings are hashed (a test holds it there to show what waits meanwhile).
    public static func compute(
        lot: String, through: Int64, db: Database, hashing: (@Sendable (Series) -> Void)? = nil
    ) throws -> LotRecordDigest {
        let frame = try Frame(lot: lot, through: through, db: db)
        let sets = sqlList(frame.lotSets)
        var series: [Series] = []
        for covered in frame.series {
            var entry = Series(
                device: covered.device, channel: covered.channel, from: covered.from, to: covered.to, readings: 0, sha256: "")
            hashing?(entry)
            var digest = FieldDigest()
            let rows = try Row.fetchCursor(db, sql: """
                SELECT time, value, quality, detail, rowid AS number FROM reading
                WHERE series = ? AND time >= ? AND time < ? AND lot_set IN (\(sets)) ORDER BY time, number
                """, arguments: [covered.id, covered.from, covered.to])
            while let row = try rows.next() {
                digest.add(row[0] as Int64)
                digest.add(row[1] as Double?)
                digest.add(row[2] as Int64)
                digest.add(row[3] as String?)
                entry.readings += 1
            }
            entry.sha256 = digest.hex()
            series.append(entry)
        }
        return LotRecordDigest(
            lot: lot, through: through, events: frame.events, series: series, deviations: frame.deviations,
            definitions: frame.definitions)
    }

    /// Everything the digest covers except the readings themselves: cheap to read (no reading
    /// is touched), so the approving write can read it again to tell that nothing changed.
    struct Frame: Sendable, Equatable {
        /// One channel of one placement, with the store's id of its series.
        struct Covered: Sendable, Equatable {
            var id: Int64
            var device: String
            var channel: String
            var from: Int64
            var to: Int64
        }

        var events: [LotEvent]
        var lotSets: [Int64]
        var series: [Covered]
        var deviations: [DeviationRecord]
        var definitions: [String]

        init(lot: String, through: Int64, db: Database) throws {
            events = try LotEvent.fetchAll(db, lot: lot)
            guard !events.isEmpty else { throw NotFound(lot: lot) }
            lotSets = try LotRecordDigest.lotSets(lot, db: db)
            series = []
            var objects: [String] = []
            for placement in Placement.fold(events) where placement.start < through {
                let to = min(placement.end ?? through, through)
                let channels = try Row.fetchAll(
                    db, sql: "SELECT id, channel FROM series WHERE device = ? ORDER BY channel", arguments: [placement.device])
                objects.append(DefinitionRecord.specObject(placement.spec))
                for channel in channels {
                    let name: String = channel[1]
                    objects.append(DefinitionRecord.seriesObject(device: placement.device, channel: name))
                    series.append(Covered(id: channel[0], device: placement.device, channel: name, from: placement.start, to: to))
                }
            }
            deviations = try String.fetchAll(db, sql: "SELECT record FROM deviation ORDER BY start, id")
                .compactMap { try? AuditJSON.decode(DeviationRecord.self, $0) }
                .filter { $0.lots.contains(lot) }
            let unique = Array(Set(objects)).sorted()
            let marks = Array(repeating: "?", count: unique.count).joined(separator: ",")
            definitions = unique.isEmpty ? [] : try String.fetchAll(db, sql: """
                SELECT hash FROM audit WHERE object IN (\(marks)) AND action IN (?, ?) AND time < ? ORDER BY seq
                """, arguments: StatementArguments(unique + [DefinitionRecord.seriesAction, DefinitionRecord.specAction]) + [through])
        }
    }

    /// The lot sets naming the lot (the tags of its readings).
    static func lotSets(_ lot: String, db: Database) throws -> [Int64] {
        try Row.fetchAll(db, sql: "SELECT id, lots FROM lot_set").compactMap { row -> Int64? in
            let lots: String = row[1]
            return lots.split(separator: ",").contains(where: { $0 == lot }) ? row[0] : nil
        }
    }

    static func sqlList(_ ids: [Int64]) -> String { ids.isEmpty ? "NULL" : ids.map(String.init).joined(separator: ",") }
}
