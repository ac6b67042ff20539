import Foundation

/// Something an operator must know about, as written to alerts.log and alerts.jsonl.
public struct AlertEvent: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Out of spec for longer than the limit's delay (stamped with the first out-of-spec time).
        case excursionBegan = "excursion_began"
        /// Past a critical limit: raised at once, delay or not.
        case excursionCritical = "excursion_critical"
        case excursionRecovered = "excursion_recovered"
        case deviceUnreachable = "device_unreachable"
        case deviceBack = "device_back"
        /// The device answers but gives no valid value for a channel: a sensor fault value
        /// (sentinel, NaN), an exception or a garbled reply.
        case channelFault = "channel_fault"
        case channelRecovered = "channel_recovered"
        /// A whole bus is down (serial adapter unplugged, port gone); `device` holds the bus id.
        case busDown = "bus_down"
        case busUp = "bus_up"
        /// The wall clock was stepped (`detail`: by how much, what it read and what was due);
        /// `device` is "labgate". Audited as `clock_stepped` with both times.
        case clockStepped = "clock_stepped"
        /// SIGHUP brought a config that was refused (the running one is kept); `device` is "labgate".
        case configRefused = "config_refused"
        /// The store cannot be written (disk full): readings are held in memory; `device` is "labgate".
        case storeFailing = "store_failing"
        /// The store takes writes again: held readings written, losses (if any) audited.
        case storeRecovered = "store_recovered"
        /// The daemon stopped while the store could not be written: what it still held (readings,
        /// deviation changes, audit entries) is lost, and listed in the detail and the journal.
        case storeUnwritten = "store_unwritten"
        /// The store no longer ends where the daemon wrote it: its newest audit entry or reading
        /// seal is gone or replaced, or lot events or deviations are gone (`detail` says which);
        /// `device` is "labgate". Audited as `record_tampered`; the heads written are anchored.
        case recordTampered = "record_tampered"
        /// A deviation was opened: lots were exposed past their spec (or without data).
        case deviationOpened = "deviation_opened"
        /// Lots placed in the device during an open deviation were added to it.
        case deviationLotsAdded = "deviation_lots_added"
        case deviationRecovered = "deviation_recovered"
        case deviationAcknowledged = "deviation_acknowledged"
        case deviationClosed = "deviation_closed"
        /// A channel could not deliver a message (SMTP refused, a webhook's 5xx or timeout, a
        /// relay write refused) after its retries; `device` is "labgate", `channel` the channel id.
        /// Routed to the other channels.
        case notificationFailed = "notification_failed"
        /// The channel delivered again after failing.
        case notificationRecovered = "notification_recovered"
        /// A test message through one channel (`labgate notify test`); never in the alert log.
        case notificationTest = "notification_test"
        /// Another gateway of the site has not forwarded to the site store for `silent_after`
        /// (`device` is that gateway's id, `since` its last forward): its record at the site stops
        /// there, and it may be down. Raised by every other gateway that reaches the site store.
        case gatewaySilent = "gateway_silent"
        /// The silent gateway forwards again.
        case gatewayForwarding = "gateway_forwarding"
        /// A person acknowledged an alarm (`labgate alarms ack`); `detail` holds the comment.
        case alarmAcknowledged = "alarm_acknowledged"
    }

    public enum Severity: String, Sendable, Codable, Comparable {
        case info, warning, critical

        public static func < (a: Severity, b: Severity) -> Bool {
            let order: [Severity] = [.info, .warning, .critical]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    /// A limit as it applied when the event was raised.
    public struct Limit: Sendable, Codable, Hashable {
        /// `low`, `high`, `critical_low` or `critical_high`.
        public var name: String
        public var value: Double
        /// Where the limit was configured, e.g. "spec msc-culture" or "equipment".
        public var source: String

        public init(name: String, value: Double, source: String) {
            self.name = name
            self.value = value
            self.source = source
        }
    }

    /// When the event was raised (UTC).
    public var time: Date
    public var severity: Severity
    public var event: Kind
    public var device: String
    public var channel: String?
    /// The reading that raised the event.
    public var value: Double?
    public var unit: String?
    public var limit: Limit?
    /// When the condition began: the first out-of-spec reading, or the first failed poll.
    public var since: Date?
    /// The worst value of an excursion so far.
    public var worst: Double?
    public var detail: String?
    /// The deviation this event is about (DEV-YYYY-NNNN).
    public var deviation: String?
    /// The lots a deviation names.
    public var lots: [String]?
    /// Who acted (acknowledgements, closures).
    public var user: String?

    public init(
        time: Date, severity: Severity, event: Kind, device: String, channel: String? = nil, value: Double? = nil,
        unit: String? = nil, limit: Limit? = nil, since: Date? = nil, worst: Double? = nil, detail: String? = nil,
        deviation: String? = nil, lots: [String]? = nil, user: String? = nil
    ) {
        self.time = time
        self.severity = severity
        self.event = event
        self.device = device
        self.channel = channel
        self.value = value
        self.unit = unit
        self.limit = limit
        self.since = since
        self.worst = worst
        self.detail = detail
        self.deviation = deviation
        self.lots = lots
        self.user = user
    }
}
