import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Writes one gateway's batches to the site store over one connection: each batch in one
/// transaction, with the positions it reaches and the chain heads it carries, so the site
/// confirms rows and position together or neither.
struct SiteWriter {
    let connection: PostgresConnection
    let gateway: String
    let logger: Logger

    static let mutableStages = [
        "CREATE TEMPORARY TABLE IF NOT EXISTS stage_deviation (id text, record text, state text, device text, start bigint) ON COMMIT DELETE ROWS",
        "CREATE TEMPORARY TABLE IF NOT EXISTS stage_alarm (id text, record text, state text, deviation text, raised bigint) ON COMMIT DELETE ROWS",
        "CREATE TEMPORARY TABLE IF NOT EXISTS stage_device_status (device text, updated bigint, status text) ON COMMIT DELETE ROWS",
    ]

    /// The connection's staging tables (temporary: they go with it).
    func prepare() async throws {
        for stream in ForwardStream.all {
            try await connection.query(PostgresQuery(unsafeSQL: stream.createStage), logger: logger)
        }
        for statement in Self.mutableStages {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// The positions the site store has confirmed for this gateway.
    func positions() async throws -> [String: Int64] {
        var positions: [String: Int64] = [:]
        let rows = try await connection.query(
            "SELECT stream, position FROM forward_position WHERE gateway = \(gateway)", logger: logger)
        for try await (stream, position) in rows.decode((String, Int64).self) { positions[stream] = position }
        return positions
    }

    func write(_ batch: LocalBatch) async throws {
        // postgres-nio 1.33 never answers a query sent on a connection the server has closed
        // (a restart, a fast shutdown): find that out here rather than at the deadline.
        guard !connection.isClosed else { throw ConnectionClosed() }
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query(
                "INSERT INTO gateway (id) VALUES (\(gateway)) ON CONFLICT (id) DO UPDATE SET last_forward = now()",
                logger: logger)
            // The gateway's row above is locked until commit, so this gateway's batches are one
            // at a time; its positions, locked too, say which streams can be copied directly.
            var held: [String: Int64] = [:]
            let rows = try await connection.query(
                "SELECT stream, position FROM forward_position WHERE gateway = \(gateway) FOR UPDATE", logger: logger)
            for try await (stream, position) in rows.decode((String, Int64).self) { held[stream] = position }
            for part in batch.parts where part.rows > 0 {
                if part.stream.name == "reading", let times = part.times {
                    try await connection.query(
                        PostgresQuery(unsafeSQL: """
                            SELECT labgate_reading_months(\(ForwardStream.time("$1::bigint")), \(ForwardStream.time("$2::bigint")))
                            """, binds: Self.binds(times.lowerBound, times.upperBound)), logger: logger)
                }
                if let direct = part.stream.direct, (held[part.stream.name] ?? 0) == part.from,
                   try await copyDirect(part, direct, connection: connection) {
                    // Copied straight into the site's table.
                } else {
                    try await copy(part.copy, into: part.stream.stage, connection: connection)
                    var insert = PostgresQuery(unsafeSQL: part.stream.insert)
                    insert.binds.append(gateway, context: .default)
                    try await connection.query(insert, logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO forward_position (gateway, stream, position) VALUES (\(gateway), \(part.stream.name), \(part.position))
                    ON CONFLICT (gateway, stream) DO UPDATE SET position = EXCLUDED.position
                    """, logger: logger)
            }
            try await writeMutable(batch, connection: connection)
            if batch.auditHead != nil || batch.sealHead != nil {
                try await connection.query(
                    """
                    INSERT INTO anchor (gateway, batch, audit_seq, audit_hash, seal_id, seal_hash)
                    SELECT \(gateway), coalesce(max(batch), 0) + 1, \(batch.auditHead?.seq), \(batch.auditHead?.hash),
                        \(batch.sealHead?.id), \(batch.sealHead?.hash)
                    FROM anchor WHERE gateway = \(gateway)
                    """, logger: logger)
            }
        }
    }

    /// Each device's `updated` as the site holds it (ms), so that a new connection sends only
    /// the statuses rewritten since.
    func statusesHeld() async throws -> [String: Int64] {
        var held: [String: Int64] = [:]
        let rows = try await connection.query(
            """
            SELECT device, (extract(epoch FROM updated) * 1000)::bigint FROM device_status WHERE gateway = \(gateway)
            """, logger: logger)
        for try await (device, updated) in rows.decode((String, Int64).self) { held[device] = updated }
        return held
    }

    /// The deviations, alarms and device statuses that changed: a row changes at the site only
    /// when its record did (the site's triggers keep each change in `record_change`). The change
    /// counters they reach are confirmed with them.
    private func writeMutable(_ batch: LocalBatch, connection: PostgresConnection) async throws {
        let time = ForwardStream.time
        let statements: [(Data, Int, String, String)] = [
            (batch.deviations, batch.deviationRows, "stage_deviation", """
                INSERT INTO deviation SELECT $1, id, record::jsonb, state, device, \(time("start")) FROM stage_deviation
                ON CONFLICT (gateway, id) DO UPDATE SET record = EXCLUDED.record, state = EXCLUDED.state,
                    device = EXCLUDED.device, start = EXCLUDED.start
                WHERE deviation.record IS DISTINCT FROM EXCLUDED.record OR deviation.state IS DISTINCT FROM EXCLUDED.state
                """),
            (batch.alarms, batch.alarmRows, "stage_alarm", """
                INSERT INTO alarm SELECT $1, id, record::jsonb, state, deviation, \(time("raised")) FROM stage_alarm
                ON CONFLICT (gateway, id) DO UPDATE SET record = EXCLUDED.record, state = EXCLUDED.state,
                    deviation = EXCLUDED.deviation, raised = EXCLUDED.raised
                WHERE alarm.record IS DISTINCT FROM EXCLUDED.record OR alarm.state IS DISTINCT FROM EXCLUDED.state
                """),
            (batch.statuses, batch.statusRows, "stage_device_status", """
                INSERT INTO device_status SELECT $1, device, \(time("updated")), status::jsonb FROM stage_device_status
                ON CONFLICT (gateway, device) DO UPDATE SET updated = EXCLUDED.updated, status = EXCLUDED.status
                WHERE device_status.updated < EXCLUDED.updated
                """),
        ]
        for (data, rows, stage, sql) in statements where rows > 0 {
            try await copy(data, into: stage, connection: connection)
            var query = PostgresQuery(unsafeSQL: sql)
            query.binds.append(gateway, context: .default)
            try await connection.query(query, logger: logger)
        }
        for (stream, rows, position) in [
            (LocalBatch.deviationChangeStream, batch.deviationRows, batch.deviationChange),
            (LocalBatch.alarmChangeStream, batch.alarmRows, batch.alarmChange),
        ] where rows > 0 {
            try await connection.query(
                """
                INSERT INTO forward_position (gateway, stream, position) VALUES (\(gateway), \(stream), \(position))
                ON CONFLICT (gateway, stream) DO UPDATE SET position = EXCLUDED.position
                """, logger: logger)
        }
    }

    private static func binds(_ values: Int64...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value, context: .default) }
        return binds
    }

    /// COPY straight into the site's table, when the site's position (locked) is where the batch
    /// starts: the site then holds no row of this gateway past it (rows and position commit
    /// together), so nothing can conflict, and the staging table's second pass is saved. Under a
    /// savepoint all the same: should a row be there (a site store edited by hand), the batch
    /// takes the staging path, which skips it. Returns false then.
    private func copyDirect(_ part: LocalBatch.Part, _ direct: ForwardStream.Direct, connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SAVEPOINT direct_copy", logger: logger)
        do {
            try await copy(part.copy, into: direct.table, columns: ["gateway"] + direct.columns, connection: connection)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            try await connection.query("ROLLBACK TO SAVEPOINT direct_copy", logger: logger)
            logger.warning("site store: \(part.stream.name) rows past the confirmed position \(part.from) already there; skipping them")
            return false
        }
        try await connection.query("RELEASE SAVEPOINT direct_copy", logger: logger)
        return true
    }

    private func copy(_ data: Data, into table: String, columns: [String] = [], connection: PostgresConnection) async throws {
        guard !connection.isClosed else { throw ConnectionClosed() }
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            // In pieces of 1 MiB: the connection's buffers stay small for a large backlog batch.
            var offset = data.startIndex
            while offset < data.endIndex {
                let end = min(offset + (1 << 20), data.endIndex)
                try await writer.write(ByteBuffer(bytes: data[offset..<end]))
                offset = end
            }
        }
    }
}

struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the site store closed the connection" }
}
