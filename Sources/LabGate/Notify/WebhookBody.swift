import Foundation

/// The JSON a webhook channel POSTs (README, "Webhook body"): the notice's subject and text for
/// tools that only show a message (ntfy, chat bridges), and each event with its fields for tools
/// that route on them (paging tools). Times are UTC, RFC 3339.
public struct WebhookBody: Sendable, Codable, Hashable {
    public struct Event: Sendable, Codable, Hashable {
        public var event: String
        public var severity: String
        /// raised, repeat, escalation, info, test.
        public var reason: String
        /// Which repeat (1, 2, ...) for `repeat`.
        public var `repeat`: Int?
        public var device: String
        public var channel: String?
        public var value: Double?
        public var unit: String?
        public var limit: AlertEvent.Limit?
        public var lots: [String]
        public var deviation: String?
        public var alarm: String?
        /// When the event was raised, and since when its condition holds.
        public var time: String
        public var since: String?
        public var worst: Double?
        public var recovered: String?
        public var detail: String?
        /// The command that acknowledges it (nil when nothing needs acknowledging).
        public var acknowledge: String?
    }

    public var site: String
    /// The labgate channel this was sent through (a webhook channel's id).
    public var notifyChannel: String
    public var severity: String
    public var subject: String
    public var text: String
    public var sent: String
    public var statusPage: String?
    public var events: [Event]

    enum CodingKeys: String, CodingKey {
        case site, severity, subject, text, sent, events
        case notifyChannel = "notify_channel"
        case statusPage = "status_page"
    }

    public init(_ notice: Notice, text: NoticeText) {
        site = text.site
        notifyChannel = notice.channel
        severity = notice.severity.rawValue
        subject = text.subject(notice)
        self.text = text.body(notice)
        sent = UTCTime.format(notice.time)
        statusPage = text.statusPage
        events = notice.items.map { item in
            let event = item.event
            return Event(
                event: event.event.rawValue, severity: event.severity.rawValue, reason: item.reason.rawValue,
                repeat: item.number, device: event.device, channel: event.channel, value: event.value, unit: event.unit,
                limit: event.limit, lots: event.lots ?? [], deviation: event.deviation, alarm: item.alarm,
                time: UTCTime.format(event.time), since: event.since.map(UTCTime.format), worst: event.worst,
                recovered: item.recovered.map(UTCTime.format), detail: event.detail, acknowledge: text.acknowledge(item))
        }
    }

    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
