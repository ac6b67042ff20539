import Foundation

extension ControlAPI {
    /// An alarm as `labgate alarms list` shows it.
    public struct AlarmView: Codable, Sendable {
        public var id: String
        /// active, recovered (under until: recovered), acknowledged.
        public var state: String
        public var event: String
        public var severity: String
        public var device: String
        public var channel: String?
        public var deviation: String?
        public var lots: [String]
        public var summary: String
        public var raised: String
        public var recovered: String?
        public var repeatsSent: Int
        public var stepsReached: Int
        /// When the next message is due (nil: none is).
        public var nextMessage: String?
        public var notify: [String]
        public var acknowledgedBy: String?
        public var acknowledgedAt: String?
        public var comment: String?
        /// The electronic signature on its acknowledgement, if it was signed.
        public var signatures: [SignatureView]?

        public init(_ alarm: AlarmRecord) {
            id = alarm.id
            state = alarm.state.rawValue
            event = alarm.event.event.rawValue
            severity = alarm.event.severity.rawValue
            device = alarm.event.device
            channel = alarm.event.channel
            deviation = alarm.deviation
            lots = alarm.event.lots ?? []
            summary = AlertFormatter.summary(alarm.event)
            raised = ControlAPI.time(alarm.raised)
            recovered = alarm.recoveredAt.map(ControlAPI.time)
            repeatsSent = alarm.repeatsSent
            stepsReached = alarm.stepsReached
            nextMessage = alarm.nextDue.map(ControlAPI.time)
            notify = alarm.reached
            acknowledgedBy = alarm.ackedBy
            acknowledgedAt = alarm.ackedAt.map(ControlAPI.time)
            comment = alarm.ackComment
        }
    }

    /// One notification attempt, as `deviations show` and `notify test` show it.
    public struct NotificationView: Codable, Sendable {
        public var time: String
        public var notifyChannel: String
        public var kind: String
        public var recipients: String
        public var events: [String]
        public var alarms: [String]
        public var reason: String
        public var attempt: Int
        public var result: String
        public var detail: String?
        public var user: String

        public init(_ attempt: NotificationAttempt) {
            time = UTCTime.format(attempt.time)
            notifyChannel = attempt.channel
            kind = attempt.kind
            recipients = attempt.recipients
            events = attempt.events
            alarms = attempt.alarms
            reason = attempt.reason
            self.attempt = attempt.attempt
            result = attempt.result.rawValue
            detail = attempt.detail
            user = attempt.user
        }
    }
}
