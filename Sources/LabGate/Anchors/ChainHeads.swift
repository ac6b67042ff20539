import GRDB

/// Where the record ends: the newest audit entry and the newest reading seal (each chain numbers
/// its rows from 1 without gaps, so a head's number is also how many rows its chain holds), and
/// how many lot events and deviations there are. What an anchor writes down outside the store.
public struct ChainHeads: Sendable, Codable, Equatable {
    public var auditSeq: Int64
    public var auditHash: String
    public var sealSeq: Int64
    public var sealHash: String
    /// The newest lot event's id (lot events are numbered from 1 and only ever appended).
    public var lotEvents: Int64
    /// How many deviations the store holds (each keeps its row as it changes).
    public var deviations: Int64

    /// The heads of an empty store (hashes of zeros, as the chains' first rows name as previous).
    public static let empty = ChainHeads(auditSeq: 0, auditHash: String(repeating: "0", count: 64), sealSeq: 0, sealHash: String(repeating: "0", count: 64))

    public init(
        auditSeq: Int64, auditHash: String, sealSeq: Int64, sealHash: String, lotEvents: Int64 = 0, deviations: Int64 = 0
    ) {
        self.auditSeq = auditSeq
        self.auditHash = auditHash
        self.sealSeq = sealSeq
        self.sealHash = sealHash
        self.lotEvents = lotEvents
        self.deviations = deviations
    }

    /// The store's heads now (four lookups by primary key and one count of a small table).
    package static func read(_ db: Database) throws -> ChainHeads {
        var heads = ChainHeads.empty
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") {
            heads.auditSeq = row[0]
            heads.auditHash = row[1]
        }
        let seal = try ReadingSeal.head(db: db)
        heads.sealSeq = seal.id
        heads.sealHash = seal.hash
        heads.lotEvents = try Int64.fetchOne(db, sql: "SELECT max(id) FROM lot_event") ?? 0
        heads.deviations = try Int64.fetchOne(db, sql: "SELECT count(*) FROM deviation") ?? 0
        return heads
    }

    /// "audit entry 1050, reading seal 3002"
    public var summary: String { "audit entry \(auditSeq), reading seal \(sealSeq)" }
}
