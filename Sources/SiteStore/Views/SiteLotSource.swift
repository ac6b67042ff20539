import Foundation
import LabGate
import Logging
import PostgresNIO

/// One lot's record as the site store holds it, across every gateway that held the lot: what
/// `labgate report lot --site` gathers its report from (the local report reads a gateway's
/// SQLite store instead). Reads only; the report decides what the rows mean.
public struct SiteLotSource: Sendable {
    /// Readings are read over several connections side by side: one connection answers one
    /// query at a time, and a big lot is mostly its readings.
    let connections: [PostgresConnection]
    let logger: Logger
    public let url: String

    public init(connections: [PostgresConnection], url: String, logger: Logger) {
        precondition(!connections.isEmpty)
        self.connections = connections
        self.url = url
        self.logger = logger
    }

    /// Opens `count` connections to the site store of `settings`.
    public static func connect(_ settings: SiteStoreSettings, count: Int = 4, logger: Logger) async throws -> SiteLotSource {
        var connections: [PostgresConnection] = []
        for id in 0..<max(1, count) {
            let connection = try await PostgresConnection.connect(configuration: settings.connectionConfiguration(), id: id, logger: logger)
            // A series' range costs enough for PostgreSQL's JIT to compile it (~0.1 s a query),
            // which an index range read never wins back.
            try await connection.query("SET jit = off", logger: logger)
            connections.append(connection)
        }
        return SiteLotSource(connections: connections, url: settings.url, logger: logger)
    }

    public func close() async {
        for connection in connections { try? await connection.close() }
    }

    var first: PostgresConnection { connections[0] }

    /// Every gateway's events of the lot, per gateway in the order they were committed.
    public func events(lot: String) async throws -> [SiteLotEvent] {
        let rows = try await first.query(
            """
            SELECT gateway, id, action, device, spec, time, "user", note, corrects, effective
            FROM lot_event WHERE lot = \(lot) ORDER BY gateway, id
            """, logger: logger)
        var events: [SiteLotEvent] = []
        for try await (gateway, id, action, device, spec, time, user, note, corrects, effective) in rows.decode(
            (String, Int64, String, String?, String?, Date, String, String?, Int64?, Date?).self)
        {
            events.append(SiteLotEvent(gateway: gateway, event: LotEvent(
                id: id, lot: lot, action: LotEvent.Action(rawValue: action) ?? .end, device: device, spec: spec,
                time: time.millisecondsSince1970, user: user, note: note, corrects: corrects, effective: effective?.millisecondsSince1970)))
        }
        return events
    }

    /// Per gateway, the lot sets naming the lot (the tags of its readings there).
    public func lotSets(lot: String) async throws -> [String: [Int64]] {
        let rows = try await first.query(
            "SELECT gateway, id FROM lot_set WHERE \(lot) = ANY (string_to_array(lots, ',')) ORDER BY gateway, id", logger: logger)
        var sets: [String: [Int64]] = [:]
        for try await (gateway, id) in rows.decode((String, Int64).self) { sets[gateway, default: []].append(id) }
        return sets
    }

    /// A device's series on a gateway, by channel name.
    public func series(gateway: String, device: String) async throws -> [(id: Int64, channel: String)] {
        let rows = try await first.query(
            "SELECT id, channel FROM series WHERE gateway = \(gateway) AND device = \(device) ORDER BY channel", logger: logger)
        var series: [(Int64, String)] = []
        for try await row in rows.decode((Int64, String).self) { series.append(row) }
        return series
    }

    /// The fields and specs a gateway recorded in its audit trail (as a local store's
    /// `DefinitionHistory.load` reads them).
    public func definitions(gateway: String, series: [(device: String, channel: String)], specs: [String]) async throws -> DefinitionHistory {
        func records<Value: Decodable & Sendable>(_ object: String, _ action: String, as: Value.Type) async throws -> [Dated<Value>] {
            let rows = try await first.query(
                "SELECT time, new FROM audit WHERE object = \(object) AND gateway = \(gateway) AND action = \(action) ORDER BY seq",
                logger: logger)
            var dated: [Dated<Value>] = []
            for try await (time, new) in rows.decode((Date, String?).self) {
                guard let new, let value = try? AuditJSON.decode(Value.self, new) else { continue }
                dated.append(.at(time.millisecondsSince1970, value))
            }
            return dated
        }
        var seriesRecords: [(device: String, channel: String, records: [Dated<SeriesDescription>])] = []
        for (device, channel) in series {
            seriesRecords.append((device, channel, try await records(
                DefinitionRecord.seriesObject(device: device, channel: channel), DefinitionRecord.seriesAction, as: SeriesDescription.self)))
        }
        var specRecords: [String: [Dated<RecordedSpec>]] = [:]
        for name in specs {
            specRecords[name] = try await records(DefinitionRecord.specObject(name), DefinitionRecord.specAction, as: RecordedSpec.self)
        }
        return DefinitionHistory(series: seriesRecords, specs: specRecords)
    }

    /// One series' readings in `[from, to)` tagged with one of `lotSets`, in time order, as
    /// columns: UTC milliseconds, value (nil when none), quality code.
    public struct Readings: Sendable {
        public var times: [Int64] = []
        public var values: [Double?] = []
        public var qualities: [Int16] = []

        /// Into time order, stably (readings at the same time keep their order).
        mutating func sortByTime() {
            let order = times.indices.sorted { (times[$0], $0) < (times[$1], $1) }
            (times, values, qualities) = (order.map { times[$0] }, order.map { values[$0] }, order.map { qualities[$0] })
        }
    }

    /// `slot` picks the connection, so that callers reading side by side spread over them.
    public func readings(gateway: String, series: Int64, from: Int64, to: Int64, lotSets: [Int64], slot: Int = 0) async throws -> Readings {
        let connection = connections[slot % connections.count]
        // One row of three arrays rather than a row per reading: postgres-nio handles each row
        // as a message through its state machine and an async step, which cost more than the
        // readings' bytes. The arrays are aggregated from one ordered row stream, so they agree
        // element by element; the order is checked (PostgreSQL keeps a sorted subquery's order
        // into an aggregate, but does not promise it).
        let rows = try await connection.query(
            """
            SELECT array_agg(time), array_agg(value), array_agg(quality) FROM (
                SELECT time, value, quality FROM reading
                WHERE gateway = \(gateway) AND series = \(series) AND time >= \(Date(millisecondsSince1970: from)) AND time < \(Date(millisecondsSince1970: to))
                    AND lot_set = ANY (\(lotSets))
                ORDER BY time) r
            """, logger: logger)
        var readings = Readings()
        for try await row in rows {
            var cells = row.makeIterator()
            guard let times = cells.next(), let values = cells.next(), let qualities = cells.next() else { continue }
            try ReadingCells.times(times, into: &readings.times)
            try ReadingCells.values(values, into: &readings.values)
            try ReadingCells.qualities(qualities, into: &readings.qualities)
        }
        guard readings.values.count == readings.times.count, readings.qualities.count == readings.times.count else {
            throw ReadingCells.Malformed(description: "series \(series): arrays of different lengths")
        }
        if zip(readings.times, readings.times.dropFirst()).contains(where: { $0 > $1 }) { readings.sortByTime() }
        return readings
    }

    /// A device's readings of a lot on a gateway, every channel, in time then channel order:
    /// the rows of the report's CSV.
    public func readingRows(
        gateway: String, device: String, from: Int64, to: Int64, lotSets: [Int64],
        _ body: (_ time: Int64, _ channel: String, _ value: Double?, _ quality: Int16, _ detail: String?) throws -> Void
    ) async throws {
        let rows = try await first.query(
            """
            SELECT r.time, s.channel, r.value, r.quality, r.detail FROM reading r
            JOIN series s ON s.gateway = r.gateway AND s.id = r.series
            WHERE r.gateway = \(gateway) AND s.device = \(device) AND r.time >= \(Date(millisecondsSince1970: from)) AND r.time < \(Date(millisecondsSince1970: to))
                AND r.lot_set = ANY (\(lotSets))
            ORDER BY r.time, s.channel
            """, logger: logger)
        for try await (time, channel, value, quality, detail) in rows.decode((Date, String, Double?, Int16, String?).self) {
            try body(time.millisecondsSince1970, channel, value, quality, detail)
        }
    }

    /// Every gateway's deviations naming the lot, as last forwarded.
    public func deviations(lot: String) async throws -> [(gateway: String, record: DeviationRecord)] {
        let rows = try await first.query(
            "SELECT gateway, record::text FROM deviation WHERE record -> 'lots' ? \(lot) ORDER BY start, gateway, id", logger: logger)
        var found: [(String, DeviationRecord)] = []
        for try await (gateway, text) in rows.decode((String, String).self) {
            if let record = try? AuditJSON.decode(DeviationRecord.self, text) { found.append((gateway, record)) }
        }
        return found
    }

    /// Every gateway's audit entries about these objects, in time order.
    public func audit(objects: [String]) async throws -> [(gateway: String, entry: AuditEntry)] {
        let rows = try await first.query(
            """
            SELECT gateway, seq, time, "user", action, object, old, new, reason, record, prev, hash
            FROM audit WHERE object = ANY (\(objects)) ORDER BY time, gateway, seq
            """, logger: logger)
        var entries: [(String, AuditEntry)] = []
        for try await (gateway, seq, time, user, action, object, old, new, reason, record, prev, hash) in rows.decode(
            (String, Int64, Date, String, String, String, String?, String?, String?, String?, String, String).self)
        {
            entries.append((gateway, AuditEntry.row(
                seq: seq, time: time, user: user, action: action, object: object, old: old, new: new, reason: reason,
                record: record, prev: prev, hash: hash)))
        }
        return entries
    }

    /// Every signature of the lot's record on any gateway, as its `signed` audit entry carries
    /// it: on the lot, on its deviations, and any other naming the lot.
    public func signatures(lot: String, deviations: [String]) async throws -> [(gateway: String, signature: Signature)] {
        let objects = ["lot \(lot)"] + deviations.map { "deviation \($0)" }
        let rows = try await first.query(
            """
            SELECT gateway, seq, new FROM audit WHERE action = 'signed'
                AND (object = ANY (\(objects)) OR (new::jsonb) ->> 'lot' = \(lot))
            ORDER BY time, gateway, seq
            """, logger: logger)
        var signatures: [(String, Signature)] = []
        for try await (gateway, seq, new) in rows.decode((String, Int64, String?).self) {
            if let signature = Signature.audited(seq: seq, action: "signed", new: new) { signatures.append((gateway, signature)) }
        }
        return signatures
    }

    /// How far a gateway's readings of these series reach at the site, and when it last forwarded.
    public func forwarded(gateway: String, series: [Int64]) async throws -> (newest: Int64?, lastForward: Date?) {
        var newest: Int64?
        for id in series {
            let rows = try await first.query(
                "SELECT max(time) FROM reading WHERE gateway = \(gateway) AND series = \(id)", logger: logger)
            for try await time in rows.decode(Date?.self) {
                if let time { newest = max(newest ?? .min, time.millisecondsSince1970) }
            }
        }
        let rows = try await first.query("SELECT last_forward FROM gateway WHERE id = \(gateway)", logger: logger)
        var last: Date?
        for try await time in rows.decode(Date.self) { last = time }
        return (newest, last)
    }

    /// Each gateway's audit and seal chains at the site (`labgate audit verify --site`).
    public func chains() async throws -> SiteChainCheck.Report {
        try await SiteChainCheck.verify(first, gateway: nil, store: nil, logger: logger)
    }
}
