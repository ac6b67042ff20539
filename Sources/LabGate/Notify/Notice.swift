import Foundation

/// One message through one channel: the events gathered for it in one window (a power cut's 30
/// unreachable devices make one notice, not 30), each with the alarm it belongs to.
public struct Notice: Sendable, Hashable {
    public enum Reason: String, Sendable, Codable, Hashable {
        /// The first message of an alarm.
        case raised
        /// Again, unacknowledged (t0 + k·repeat).
        case `repeat`
        /// An escalation step reached (t0 + after).
        case escalation
        /// An event routed for information only (a recovery, an acknowledgement).
        case info
        /// `labgate notify test`.
        case test
    }

    public struct Item: Sendable, Hashable {
        public var event: AlertEvent
        public var reason: Reason
        /// The alarm, for events that raise one.
        public var alarm: String?
        /// Which repeat this is (1, 2, ...), for `repeat`.
        public var number: Int?
        /// When the alarm's condition recovered, if it has (a repeat of a recovered, unacknowledged alarm).
        public var recovered: Date?

        public init(event: AlertEvent, reason: Reason, alarm: String? = nil, number: Int? = nil, recovered: Date? = nil) {
            self.event = event
            self.reason = reason
            self.alarm = alarm
            self.number = number
            self.recovered = recovered
        }

        public var deviation: String? { event.deviation }
    }

    public var channel: String
    public var items: [Item]
    /// When it was composed (the end of its gathering window).
    public var time: Date

    public init(channel: String, items: [Item], time: Date) {
        self.channel = channel
        self.items = items
        self.time = time
    }

    /// The highest severity among the items.
    public var severity: AlertEvent.Severity { items.map(\.event.severity).max() ?? .info }

    public var isTest: Bool { items.contains { $0.reason == .test } }

    /// A test message for `labgate notify test` (no alarm, no deviation).
    public static func test(channel: String, site: String, user: String, time: Date) -> Notice {
        let event = AlertEvent(
            time: time, severity: .info, event: .notificationTest, device: "labgate", channel: channel,
            detail: "test message from labgate at \(site), sent by \(user) (labgate notify test \(channel)); nothing needs doing")
        return Notice(channel: channel, items: [Item(event: event, reason: .test)], time: time)
    }
}
