import Foundation

/// Something that needs a person, raised by an event a rule routes (a deviation, an equipment
/// excursion, an unreachable device, a failing store or channel): repeated and escalated as its
/// rule says until acknowledged (`labgate alarms ack`, or `labgate deviations ack` for a
/// deviation's alarm), or, with `until: recovered`, until its condition recovers.
///
/// The rule's timing is copied in when the alarm is raised, so a reload changes new alarms only,
/// and a restart goes on from the stored record: `repeatsSent` and `stepsReached` say what has
/// gone out.
public struct AlarmRecord: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Repeats and escalations go on.
        case active
        /// Recovered under `until: recovered`: no more messages, still to be acknowledged.
        case recovered
        case acknowledged
    }

    /// ALM-YYYY-NNNN.
    public var id: String
    /// The event that raised it (device, channel, value against limit, lots, deviation).
    public var event: AlertEvent
    /// When it was raised (t0 of the schedule), UTC milliseconds.
    public var raised: Int64
    /// Channels of the first message and of every repeat.
    public var notify: [String]
    /// The rule's `repeat` in milliseconds (nil: no repeats).
    public var repeatEvery: Int64?
    public var escalate: [Step]
    public var until: NotifyRule.Until
    /// Repeats sent so far (k of t0 + k·repeat).
    public var repeatsSent: Int = 0
    /// Escalation steps reached so far.
    public var stepsReached: Int = 0
    public var recoveredAt: Int64?
    public var ackedAt: Int64?
    public var ackedBy: String?
    public var ackComment: String?

    /// An escalation step as the rule gave it: `after` in milliseconds from `raised`.
    public struct Step: Sendable, Codable, Hashable {
        public var after: Int64
        public var notify: [String]

        public init(after: Int64, notify: [String]) {
            self.after = after
            self.notify = notify
        }
    }

    public init(
        id: String, event: AlertEvent, raised: Int64, notify: [String], repeat: Duration?,
        escalate: [NotifyRule.Escalation], until: NotifyRule.Until
    ) {
        self.id = id
        self.event = event
        self.raised = raised
        self.notify = notify
        self.repeatEvery = `repeat`?.milliseconds
        self.escalate = escalate.map { Step(after: $0.after.milliseconds, notify: $0.notify) }
        self.until = until
    }

    public var state: State {
        if ackedAt != nil { return .acknowledged }
        if recoveredAt != nil && until == .recovered { return .recovered }
        return .active
    }

    /// Whether messages are still due (not acknowledged, and not recovered under `until: recovered`).
    public var isActive: Bool { state == .active }

    public var deviation: String? { event.deviation }
    public var raisedDate: Date { Date(millisecondsSince1970: raised) }

    /// The channels its messages reach now: `notify` and every escalation step reached.
    public var reached: [String] {
        var channels = notify
        for step in escalate.prefix(stepsReached) {
            for channel in step.notify where !channels.contains(channel) { channels.append(channel) }
        }
        return channels
    }

    /// The next time a message is due (a repeat or the next escalation step), nil when none is.
    ///
    /// Repeat k is due at raised + k·repeat; step i at raised + after_i.
    public var nextDue: Int64? {
        guard isActive else { return nil }
        var due: [Int64] = []
        if let every = repeatEvery { due.append(raised + Int64(repeatsSent + 1) * every) }
        if stepsReached < escalate.count { due.append(raised + escalate[stepsReached].after) }
        return due.min()
    }
}

extension Duration {
    /// Whole milliseconds (durations in the config are given to the millisecond).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Alarm ids: ALM-YYYY-NNNN, numbered per year of raising.
public enum AlarmID {
    public static func make(year: Int, number: Int) -> String {
        "ALM-\(year)-" + String(format: "%04d", number)
    }

    public static func parse(_ id: String) -> (year: Int, number: Int)? {
        let parts = id.split(separator: "-")
        guard parts.count == 3, parts[0] == "ALM", parts[1].count == 4, let year = Int(parts[1]),
            let number = Int(parts[2])
        else { return nil }
        return (year, number)
    }

    public static func isValid(_ id: String) -> Bool { parse(id) != nil }
}
