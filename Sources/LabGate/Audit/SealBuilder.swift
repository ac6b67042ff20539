import GRDB

/// The seal of one batch in the per-series format: for each series in the batch, an entry in
/// `seal_series` with the digest of its readings (the fields `ReadingSeal.add` covers, in row
/// order), their count and time span, chained by hash to the series' previous entry; the seal's
/// digest is over its entries' hashes in series order.
///
/// A lot report can then check the lot's series alone: re-hash its readings entry by entry,
/// follow its entries' chain, and check one seal whole where the chain ends, however many other
/// devices' readings those seals hold (`LotSealCheck`). `audit verify` still checks everything.
package struct SealBuilder {
    private struct Part {
        // A commit every second holds one poll per series (~100 bytes of fields); the buffer
        // grows when a batch holds more. At 512 bytes, 1000 series took 0.5 MB per commit.
        var digest = FieldDigest(capacity: 128)
        var count = 0
        var first = Int64.max
        var last = Int64.min
    }

    private var index: [Int64: Int] = [:]
    private var parts: [(series: Int64, part: Part)] = []
    package private(set) var count = 0

    package init() {}

    package mutating func add(
        series: Int64, device: String, channel: String, time: Int64, value: Double?, quality: String, detail: String?,
        lots: String?
    ) {
        let at: Int
        if let known = index[series] {
            at = known
        } else {
            at = parts.count
            index[series] = at
            parts.append((series, Part()))
        }
        ReadingSeal.add(
            &parts[at].part.digest, device: device, channel: channel, time: time, value: value, quality: quality,
            detail: detail, lots: lots)
        parts[at].part.count += 1
        parts[at].part.first = min(parts[at].part.first, time)
        parts[at].part.last = max(parts[at].part.last, time)
        count += 1
    }

    /// Writes the entries and the seal (`id`, committed at `time`). `heads`: each series' last
    /// entry hash as known to the writer (looked up when missing), updated with the new ones.
    /// `inPlace`: the entries go to the series-clustered table directly (a batch dense per series).
    package func append(seal id: Int64, time: Int64, db: Database, heads: inout [Int64: String], inPlace: Bool = false) throws {
        let recent = try RecentMove.hasRecent(db)
        // Recent entries are in seal order: a series' last one is near the end, found by reading
        // back; a series not there has its last entry stored.
        let lookups = try (recent
            ? ["SELECT hash FROM seal_series_recent WHERE series = ? ORDER BY seal DESC LIMIT 1",
               "SELECT hash FROM seal_series_stored WHERE series = ? ORDER BY seal DESC LIMIT 1"]
            : ["SELECT hash FROM seal_series WHERE series = ? ORDER BY seal DESC LIMIT 1"]).map { try db.cachedStatement(sql: $0) }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO \(!recent ? "seal_series" : inPlace ? "seal_series_stored" : "seal_series_recent") (seal, series, count, first, last, digest, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // A series whose entries were all moved to month archives continues from the head the
        // archives left (a store from before archives has no such table).
        let archived = try? db.cachedStatement(sql: "SELECT hash FROM archive_series_head WHERE series = ?")
        var sealDigest = FieldDigest(capacity: 4096)
        for (series, part) in parts.sorted(by: { $0.series < $1.series }) {
            var prev = heads[series]
            if prev == nil {
                for lookup in lookups where prev == nil { prev = try String.fetchOne(lookup, arguments: [series]) }
            }
            // A series whose entries were all moved to month archives continues from the head the
            // archives left.
            if prev == nil, let archived { prev = try String.fetchOne(archived, arguments: [series]) }
            let previous = prev ?? FieldDigest.zero
            let digest = part.digest.hex()
            let hash = Self.entryHash(
                seal: id, series: series, count: part.count, first: part.first, last: part.last, digest: digest, prev: previous)
            try insert.execute(arguments: [id, series, part.count, part.first, part.last, digest, previous, hash])
            heads[series] = hash
            Self.add(&sealDigest, series: series, hash: hash)
        }
        try ReadingSeal.append(
            count: count, digest: sealDigest.hex(), time: time, db: db, id: id, format: ReadingSeal.perSeries)
    }

    static func entryHash(
        seal: Int64, series: Int64, count: Int, first: Int64, last: Int64, digest: String, prev: String
    ) -> String {
        var hash = FieldDigest(capacity: 256)
        hash.add(seal)
        hash.add(series)
        hash.add(Int64(count))
        hash.add(first)
        hash.add(last)
        hash.add(digest)
        hash.add(prev)
        return hash.hex()
    }

    /// One entry's part of its seal's digest (entries in series order).
    static func add(_ digest: inout FieldDigest, series: Int64, hash: String) {
        digest.add(series)
        digest.add(hash)
    }
}
