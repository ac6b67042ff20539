import Foundation
import GRDB

/// One attempt to deliver a notice through a channel, as stored (append-only) and audited.
public struct NotificationAttempt: Sendable, Codable, Hashable {
    public enum Result: String, Sendable, Codable, Hashable {
        case delivered
        /// Failed; another attempt follows (after backoff).
        case retrying
        /// Failed, and no attempt follows: raised as notification_failed.
        case failed
    }

    public var id: Int64?
    public var time: Date
    public var channel: String
    /// email, webhook, alertmanager, relay.
    public var kind: String
    public var recipients: String
    /// The event kinds the notice carried.
    public var events: [String]
    public var alarms: [String]
    public var deviations: [String]
    /// raised, repeat, escalation, info, test (the first item's when mixed: then "mixed").
    public var reason: String
    /// 1 for the first attempt.
    public var attempt: Int
    public var result: Result
    /// Why it failed, or what the server said.
    public var detail: String?
    /// Who asked (a test) or the daemon's user.
    public var user: String

    public init(
        time: Date, channel: String, kind: String, recipients: String, notice: Notice, attempt: Int, result: Result,
        detail: String?, user: String
    ) {
        self.time = time
        self.channel = channel
        self.kind = kind
        self.recipients = recipients
        events = Self.unique(notice.items.map(\.event.event.rawValue))
        alarms = Self.unique(notice.items.compactMap(\.alarm))
        deviations = Self.unique(notice.items.compactMap(\.deviation))
        let reasons = Self.unique(notice.items.map(\.reason.rawValue))
        reason = reasons.count == 1 ? reasons[0] : "mixed"
        self.attempt = attempt
        self.result = result
        self.detail = detail
        self.user = user
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen: [String] = []
        for value in values where !seen.contains(value) { seen.append(value) }
        return seen
    }
}

/// The `notification` table: every attempt, with its audit entry (`record` notification:ID) in
/// the same transaction.
public enum NotificationLog {
    /// Inserts the attempt and audits it (`notification_delivered`, `notification_retrying`,
    /// `notification_failed`); handed to the writer, committed in order with everything else.
    public static func record(_ attempt: NotificationAttempt) -> StoreRecord {
        StoreRecord(summary: "notification_\(attempt.result.rawValue) \(attempt.channel)") { db in
            try insert(attempt, db: db)
        }
    }

    static func insert(_ attempt: NotificationAttempt, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO notification (time, channel, kind, recipients, events, alarms, deviations, reason, attempt, result, detail, user)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                attempt.time.millisecondsSince1970, attempt.channel, attempt.kind, attempt.recipients,
                attempt.events.joined(separator: ","), list(attempt.alarms), list(attempt.deviations), attempt.reason,
                attempt.attempt, attempt.result.rawValue, attempt.detail, attempt.user,
            ])
        var stored = attempt
        stored.id = db.lastInsertedRowID
        _ = try AuditTrail.append(
            .init(
                user: attempt.user, action: "notification_\(attempt.result.rawValue)", object: "channel \(attempt.channel)",
                new: AuditJSON.encode(stored), reason: attempt.detail, record: record(stored.id ?? 0)),
            db: db, at: attempt.time)
    }

    /// The audit trail's name for a notification row.
    static func record(_ id: Int64) -> String { "notification:\(id)" }

    /// `,A,B,` so that `LIKE '%,A,%'` finds an id whole.
    private static func list(_ ids: [String]) -> String { ids.isEmpty ? "" : "," + ids.joined(separator: ",") + "," }

    /// The attempts whose notice named `deviation` (or `alarm`), oldest first.
    public static func attempts(naming id: String, db: Database) throws -> [NotificationAttempt] {
        let column = AlarmID.isValid(id) ? "alarms" : "deviations"
        return try Row.fetchAll(
            db, sql: "SELECT * FROM notification WHERE \(column) LIKE ? ORDER BY time, id", arguments: ["%,\(id),%"]
        ).map(attempt)
    }

    /// The attempts of the last `limit`, newest last.
    public static func recent(limit: Int, db: Database) throws -> [NotificationAttempt] {
        try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM notification ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [limit])
            .map(attempt)
    }

    /// Per channel, the time of its last delivered and last failed attempt (with why).
    public static func health(db: Database) throws -> [ChannelHealth] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT channel,
                   MAX(CASE WHEN result = 'delivered' THEN time END) AS ok,
                   MAX(CASE WHEN result != 'delivered' THEN time END) AS bad
            FROM notification GROUP BY channel ORDER BY channel
            """)
        return try rows.map { row in
            let channel: String = row["channel"]
            let bad: Int64? = row["bad"]
            let why = try bad.flatMap { time in
                try String.fetchOne(
                    db, sql: "SELECT detail FROM notification WHERE channel = ? AND time = ? AND result != 'delivered' ORDER BY id DESC LIMIT 1",
                    arguments: [channel, time])
            }
            return ChannelHealth(
                channel: channel, lastSuccess: (row["ok"] as Int64?).map(Date.init(millisecondsSince1970:)),
                lastFailure: bad.map(Date.init(millisecondsSince1970:)), lastError: why)
        }
    }

    static func attempt(_ row: Row) -> NotificationAttempt {
        func ids(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
        var attempt = NotificationAttempt(
            time: Date(millisecondsSince1970: row["time"]), channel: row["channel"], kind: row["kind"],
            recipients: row["recipients"], notice: Notice(channel: row["channel"], items: [], time: Date()),
            attempt: row["attempt"], result: NotificationAttempt.Result(rawValue: row["result"]) ?? .failed,
            detail: row["detail"], user: row["user"])
        attempt.id = row["id"]
        attempt.events = ids(row["events"])
        attempt.alarms = ids(row["alarms"])
        attempt.deviations = ids(row["deviations"])
        attempt.reason = row["reason"]
        return attempt
    }
}

/// A channel's last success and last failure.
public struct ChannelHealth: Sendable, Codable, Hashable {
    public var channel: String
    public var lastSuccess: Date?
    public var lastFailure: Date?
    public var lastError: String?

    public init(channel: String, lastSuccess: Date? = nil, lastFailure: Date? = nil, lastError: String? = nil) {
        self.channel = channel
        self.lastSuccess = lastSuccess
        self.lastFailure = lastFailure
        self.lastError = lastError
    }
}
