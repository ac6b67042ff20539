/// One append-only table of a gateway's store as the forwarder takes it to the site store: which
/// local rows come next (past the confirmed position, oldest first), the staging table they are
/// copied into (the local columns as they are, times in milliseconds), and the insert from there
/// into the site's table, which skips rows the site already holds.
struct ForwardStream: Sendable {
    /// The stream's name in `forward_position`.
    let name: String
    /// Local rows past `?` (the position), at most `?` of them; the first column is the position.
    let local: String
    /// The staging table's name and columns (a temporary table of the connection).
    let stage: String
    let stageColumns: String
    /// From the staging table into the site's table; $1 is the gateway.
    let insert: String
    /// Rows per batch (readings are small and many; the rest are few).
    let limit: Int
    /// Whether its query takes a third argument, the last seal to take (`?3`): seals travel
    /// with their readings rather than ahead of them.
    var capped = false
    /// For the streams of as many rows as readings: the site table that COPY can fill directly
    /// (when the site's position is where the batch starts, no row past it can exist there), its
    /// columns after `gateway`, and which local columns are times in milliseconds (written as
    /// timestamptz text). Their lines then carry the gateway first, in the site table's columns,
    /// and the staging table has the same columns.
    var direct: Direct?

    struct Direct: Sendable {
        let table: String
        let columns: [String]
        let times: Set<Int32>
    }

    var createStage: String { "CREATE TEMPORARY TABLE IF NOT EXISTS \(stage) (\(stageColumns)) ON COMMIT DELETE ROWS" }

    /// Milliseconds since 1970 as a timestamptz, exactly.
    static func time(_ column: String) -> String { "(timestamptz 'epoch' + \(column) * interval '1 millisecond')" }

    static let all: [ForwardStream] = [series, lotSet, seal, sealSeries, reading, lotEvent, audit, notification]

    static let series = ForwardStream(
        name: "series", local: "SELECT id, device, channel FROM series WHERE id > ? ORDER BY id LIMIT ?",
        stage: "stage_series", stageColumns: "id bigint, device text, channel text",
        insert: "INSERT INTO series SELECT $1, id, device, channel FROM stage_series ON CONFLICT DO NOTHING",
        limit: 10_000)

    static let lotSet = ForwardStream(
        name: "lot_set", local: "SELECT id, lots FROM lot_set WHERE id > ? ORDER BY id LIMIT ?",
        stage: "stage_lot_set", stageColumns: "id bigint, lots text",
        insert: "INSERT INTO lot_set SELECT $1, id, lots FROM stage_lot_set ON CONFLICT DO NOTHING",
        limit: 10_000)

    static let seal = ForwardStream(
        name: "reading_seal",
        local: "SELECT id, time, count, digest, prev, hash, format FROM reading_seal WHERE id > ?1 AND id <= ?3 ORDER BY id LIMIT ?2",
        stage: "stage_reading_seal",
        stageColumns: "id bigint, time bigint, count bigint, digest text, prev text, hash text, format integer",
        insert: """
            INSERT INTO reading_seal SELECT $1, id, \(time("time")), count, digest, prev, hash, format
            FROM stage_reading_seal ON CONFLICT DO NOTHING
            """,
        limit: 2_000, capped: true)

    /// Keyed by seal: its position is the last seal whose entries were all taken (a seal's entries
    /// are written with it in one transaction, so a seal is never seen half). A seal has an entry
    /// per series it covers (1,000 at 250 devices), so seals are capped to those whose readings
    /// the batch carries: 2,000 seals would be 2 million entries in one batch.
    static let sealSeries = ForwardStream(
        name: "seal_series",
        local: """
            SELECT seal, series, count, first, last, digest, prev, hash FROM seal_series
            WHERE seal > ?1 AND seal <= (SELECT max(id) FROM (SELECT id FROM reading_seal WHERE id > ?1 AND id <= ?3 ORDER BY id LIMIT ?2))
            ORDER BY seal, series
            """,
        stage: "stage_seal_series",
        stageColumns: """
            gateway text, seal bigint, series bigint, count bigint, first timestamptz, last timestamptz,
            digest text, prev text, hash text
            """,
        insert: "INSERT INTO seal_series SELECT * FROM stage_seal_series WHERE gateway = $1 ON CONFLICT DO NOTHING",
        limit: 2_000, capped: true,
        direct: Direct(
            table: "seal_series", columns: ["seal", "series", "count", "first", "last", "digest", "prev", "hash"], times: [3, 4]))

    /// seq: the reading's rowid, which only grows (readings are never deleted, and the one writer
    /// commits in order, so a row committed later never has a smaller rowid).
    static let reading = ForwardStream(
        name: "reading",
        local: "SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading WHERE rowid > ? ORDER BY rowid LIMIT ?",
        stage: "stage_reading",
        stageColumns: "gateway text, seq bigint, series bigint, time timestamptz, value float8, quality smallint, detail text, lot_set bigint, seal bigint",
        insert: "INSERT INTO reading SELECT * FROM stage_reading WHERE gateway = $1 ON CONFLICT DO NOTHING",
        limit: 50_000,
        direct: Direct(
            table: "reading", columns: ["seq", "series", "time", "value", "quality", "detail", "lot_set", "seal"], times: [2]))

    static let lotEvent = ForwardStream(
        name: "lot_event",
        local: "SELECT id, lot, action, device, spec, time, user, note, corrects, effective FROM lot_event WHERE id > ? ORDER BY id LIMIT ?",
        stage: "stage_lot_event",
        stageColumns: "id bigint, lot text, action text, device text, spec text, time bigint, \"user\" text, note text, corrects bigint, effective bigint",
        insert: """
            INSERT INTO lot_event SELECT $1, id, lot, action, device, spec, \(time("time")), "user", note, corrects, \(time("effective"))
            FROM stage_lot_event ON CONFLICT DO NOTHING
            """,
        limit: 5_000)

    static let audit = ForwardStream(
        name: "audit",
        local: "SELECT seq, time, user, action, object, old, new, reason, record, prev, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
        stage: "stage_audit",
        stageColumns: "seq bigint, time bigint, \"user\" text, action text, object text, old text, new text, reason text, record text, prev text, hash text",
        insert: """
            INSERT INTO audit SELECT $1, seq, \(time("time")), "user", action, object, old, new, reason, record, prev, hash
            FROM stage_audit ON CONFLICT DO NOTHING
            """,
        limit: 5_000)

    static let notification = ForwardStream(
        name: "notification",
        local: """
            SELECT id, time, channel, kind, recipients, events, alarms, deviations, reason, attempt, result, detail, user
            FROM notification WHERE id > ? ORDER BY id LIMIT ?
            """,
        stage: "stage_notification",
        stageColumns: """
            id bigint, time bigint, channel text, kind text, recipients text, events text, alarms text, deviations text,
            reason text, attempt integer, result text, detail text, "user" text
            """,
        insert: """
            INSERT INTO notification SELECT $1, id, \(time("time")), channel, kind, recipients, events, alarms, deviations,
            reason, attempt, result, detail, "user" FROM stage_notification ON CONFLICT DO NOTHING
            """,
        limit: 5_000)
}
