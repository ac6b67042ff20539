import Foundation

/// Decides who is told what, and when: routes events by the rules, raises alarms, repeats and
/// escalates them until acknowledged, gathers what falls due together into one notice per
/// channel, and says which relay outputs are on. It knows no transport and no clock: the daemon
/// hands it events and the time (`take`, `tick`), tests drive the time by hand.
///
/// - Routing: the first rule whose `when` lists the event's kind. `notification_failed` with no
///   rule of its own goes to the other channels of every rule that names the failing channel.
/// - Alarms: an event of a kind in `raising` opens an alarm, unless the same condition (kind,
///   device, channel, deviation) already has one that has not recovered. Its recovery event
///   (`recoveries`) marks it recovered; under `until: recovered` that ends its messages.
///   Acknowledging a deviation acknowledges its alarms.
/// - Timing (`AlarmRecord.nextDue`): repeat k at t0 + k·repeat to the channels reached so far,
///   step i at t0 + after_i. After a long stop only one repeat goes out for the missed ones.
/// - Gathering: the first item for any channel opens a window of `gathering`; at its end every
///   channel with items gets one notice listing them.
/// - Relays are not gathered: one is on while an active alarm has reached it.
public struct NotifyEngine: Sendable {
    public enum Effect: Sendable, Hashable {
        case send(Notice)
        /// An alarm changed: store it (the record the daemon resumes from).
        case save(AlarmRecord)
        /// A relay channel's output should now be on (or off).
        case relay(channel: String, on: Bool)
    }

    /// Events that need a person.
    public static let raising: Set<AlertEvent.Kind> = [
        .deviationOpened, .excursionBegan, .excursionCritical, .deviceUnreachable, .channelFault, .busDown,
        .storeFailing, .storeUnwritten, .clockStepped, .configRefused, .notificationFailed, .recordTampered,
        .gatewaySilent,
    ]
    /// The recovery of each raising kind (the condition is over; a person may still be needed).
    public static let recoveries: [AlertEvent.Kind: Set<AlertEvent.Kind>] = [
        .deviationRecovered: [.deviationOpened],
        .excursionRecovered: [.excursionBegan, .excursionCritical],
        .deviceBack: [.deviceUnreachable],
        .channelRecovered: [.channelFault],
        .busUp: [.busDown],
        .storeRecovered: [.storeFailing],
        .notificationRecovered: [.notificationFailed],
        .gatewayForwarding: [.gatewaySilent],
    ]

    /// How long the first event waits for others to share its message: long enough for what one
    /// poll round or one bus failure raises at once, short enough for the 2 s target from reading
    /// to message.
    public static let defaultGathering = Duration.seconds(1)

    public private(set) var settings: NotifySettings
    public let gathering: Duration
    /// Alarms not yet acknowledged, by id.
    public private(set) var alarms: [String: AlarmRecord]
    private var highest: [Int: Int]
    /// Items waiting for the end of the gathering window, per channel in the order they came.
    private var pending: [(channel: String, items: [Notice.Item])] = []
    private var gatherUntil: Int64?
    private var relays: [String: Bool] = [:]

    /// `alarms`: the stored ones not yet acknowledged; `highest`: the highest alarm number given
    /// in each year (stored ids), so no id is given twice.
    public init(
        settings: NotifySettings, alarms: [AlarmRecord] = [], highest: [Int: Int] = [:],
        gathering: Duration = NotifyEngine.defaultGathering
    ) {
        self.settings = settings
        self.gathering = gathering
        self.alarms = Dictionary(alarms.filter { $0.ackedAt == nil }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var seeds = highest
        for alarm in alarms {
            if let (year, number) = AlarmID.parse(alarm.id) { seeds[year] = max(seeds[year] ?? 0, number) }
        }
        self.highest = seeds
    }

    /// A reloaded config: new alarms follow its rules; raised ones keep the timing they were
    /// raised with, minus channels it no longer has.
    public mutating func reconfigure(_ settings: NotifySettings) {
        self.settings = settings
        let known = Set(settings.channels.map(\.id))
        for id in alarms.keys {
            alarms[id]?.notify.removeAll { !known.contains($0) }
        }
        relays = relays.filter { known.contains($0.key) }
    }

    /// Alarms not yet acknowledged, oldest first.
    public var openAlarms: [AlarmRecord] { alarms.values.sorted { ($0.raised, $0.id) < ($1.raised, $1.id) } }

    // MARK: Events

    public mutating func take(_ event: AlertEvent, now: Date) -> [Effect] {
        let ms = now.millisecondsSince1970
        var effects: [Effect] = []
        if event.event == .deviationAcknowledged || event.event == .deviationClosed, let deviation = event.deviation {
            for var alarm in alarms.values where alarm.deviation == deviation {
                alarm.ackedAt = ms
                alarm.ackedBy = event.user
                alarm.ackComment = event.detail ?? "deviation \(deviation) \(event.event == .deviationClosed ? "closed" : "acknowledged")"
                effects += end(alarm)
            }
        }
        if let raised = Self.recoveries[event.event] {
            for var alarm in alarms.values where alarm.recoveredAt == nil && raised.contains(alarm.event.event) && Self.sameCondition(alarm.event, event) {
                alarm.recoveredAt = ms
                alarms[alarm.id] = alarm
                effects.append(.save(alarm))
                if !alarm.isActive { dropPending(alarm.id) }
            }
        }
        guard let route = route(event) else { return effects + relayChanges() }
        if Self.raising.contains(event.event) {
            let duplicate = alarms.values.contains { alarm in
                alarm.event.event == event.event && Self.sameCondition(alarm.event, event)
                    && alarm.event.deviation == event.deviation && (alarm.recoveredAt == nil || Self.recoveryKind(of: event.event) == nil)
            }
            if !duplicate {
                let alarm = AlarmRecord(
                    id: nextID(at: now), event: event, raised: ms, notify: route.notify, repeat: route.repeat,
                    escalate: route.escalate, until: route.until)
                alarms[alarm.id] = alarm
                effects.append(.save(alarm))
                enqueue(Notice.Item(event: event, reason: .raised, alarm: alarm.id), to: alarm.notify, now: ms)
            }
        } else {
            enqueue(Notice.Item(event: event, reason: .info), to: route.notify, now: ms)
        }
        return effects + relayChanges()
    }

    /// Repeats and escalations due by `now`, and the notices whose gathering window has ended.
    public mutating func tick(now: Date) -> [Effect] {
        let ms = now.millisecondsSince1970
        var effects: [Effect] = []
        for var alarm in openAlarms {
            guard let due = alarm.nextDue, due <= ms else { continue }
            let recovered = alarm.recoveredAt.map(Date.init(millisecondsSince1970:))
            while alarm.stepsReached < alarm.escalate.count, alarm.raised + alarm.escalate[alarm.stepsReached].after <= ms {
                let step = alarm.escalate[alarm.stepsReached]
                alarm.stepsReached += 1
                let item = Notice.Item(event: alarm.event, reason: .escalation, alarm: alarm.id, recovered: recovered)
                enqueue(item, to: step.notify, now: ms)
            }
            if let every = alarm.repeatEvery {
                // One message for any number of missed repeats (after a stop, say).
                let k = Int((ms - alarm.raised) / every)
                if k > alarm.repeatsSent {
                    alarm.repeatsSent = k
                    let item = Notice.Item(event: alarm.event, reason: .repeat, alarm: alarm.id, number: k, recovered: recovered)
                    enqueue(item, to: alarm.reached, now: ms)
                }
            }
            alarms[alarm.id] = alarm
            effects.append(.save(alarm))
        }
        effects += relayChanges()
        if let until = gatherUntil, until <= ms {
            let time = Date(millisecondsSince1970: ms)
            for entry in pending where !entry.items.isEmpty {
                effects.append(.send(Notice(channel: entry.channel, items: entry.items, time: time)))
            }
            pending = []
            gatherUntil = nil
        }
        return effects
    }

    /// The earliest time `tick` has something to do (a window ends, a message is due).
    public var nextWake: Date? {
        let due = ([gatherUntil] + alarms.values.map(\.nextDue)).compactMap { $0 }.min()
        return due.map(Date.init(millisecondsSince1970:))
    }

    // MARK: People

    public enum AckError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknown(String)
        case alreadyAcknowledged(String, by: String)
        case isDeviation(alarm: String, deviation: String)

        public var description: String {
            switch self {
            case .unknown(let id): "no unacknowledged alarm \(id) (labgate alarms list shows them)"
            case .alreadyAcknowledged(let id, let by): "alarm \(id) was already acknowledged by \(by)"
            case .isDeviation(let alarm, let deviation):
                "alarm \(alarm) is deviation \(deviation): acknowledge the deviation (labgate deviations ack \(deviation) --comment ...), which acknowledges its alarm"
            }
        }
    }

    /// An operator acknowledges an alarm: its messages stop and its relays drop. A deviation's
    /// alarm is acknowledged through the deviation, which is what the record needs.
    public mutating func acknowledge(
        _ id: String, user: String, comment: String, now: Date
    ) throws(AckError) -> (record: AlarmRecord, effects: [Effect]) {
        guard var alarm = alarms[id] else { throw .unknown(id) }
        if let deviation = alarm.deviation { throw .isDeviation(alarm: id, deviation: deviation) }
        alarm.ackedAt = now.millisecondsSince1970
        alarm.ackedBy = user
        alarm.ackComment = comment
        let effects = end(alarm) + relayChanges()
        return (alarm, effects)
    }

    // MARK: Parts

    private struct Route {
        var notify: [String]
        var `repeat`: Duration?
        var escalate: [NotifyRule.Escalation]
        var until: NotifyRule.Until
    }

    private func route(_ event: AlertEvent) -> Route? {
        if let rule = settings.rules.first(where: { $0.when.contains(event.event) }) {
            var notify = rule.notify
            if event.event == .notificationFailed { notify.removeAll { $0 == event.channel } }
            let steps = rule.escalate.map { step in
                NotifyRule.Escalation(after: step.after, notify: step.notify.filter { event.event != .notificationFailed || $0 != event.channel })
            }
            return notify.isEmpty && steps.allSatisfy(\.notify.isEmpty)
                ? nil : Route(notify: notify, repeat: rule.repeat, escalate: steps, until: rule.until)
        }
        guard event.event == .notificationFailed, let failing = event.channel else { return nil }
        var others: [String] = []
        for rule in settings.rules {
            let channels = rule.notify + rule.escalate.flatMap(\.notify)
            guard channels.contains(failing) else { continue }
            for channel in channels where channel != failing && !others.contains(channel) { others.append(channel) }
        }
        return others.isEmpty ? nil : Route(notify: others, repeat: nil, escalate: [], until: .acknowledged)
    }

    /// An alarm acknowledged: kept out of memory, its waiting items dropped.
    private mutating func end(_ alarm: AlarmRecord) -> [Effect] {
        alarms[alarm.id] = nil
        dropPending(alarm.id)
        return [.save(alarm)]
    }

    private mutating func dropPending(_ alarm: String) {
        for index in pending.indices { pending[index].items.removeAll { $0.alarm == alarm } }
    }

    /// Adds an item for each message channel (relays are driven by state, not by notices); an
    /// alarm appears once per notice.
    private mutating func enqueue(_ item: Notice.Item, to channels: [String], now ms: Int64) {
        var added = false
        for channel in channels {
            guard let kind = settings.channel(channel)?.kind else { continue }
            if case .relay = kind { continue }
            let index = pending.firstIndex { $0.channel == channel } ?? {
                pending.append((channel, []))
                return pending.count - 1
            }()
            if let alarm = item.alarm, pending[index].items.contains(where: { $0.alarm == alarm }) { continue }
            pending[index].items.append(item)
            added = true
        }
        if added, gatherUntil == nil { gatherUntil = ms + gathering.milliseconds }
    }

    /// Relay channels whose state changed (every relay channel the first time).
    private mutating func relayChanges() -> [Effect] {
        var effects: [Effect] = []
        let active = alarms.values.filter(\.isActive)
        for channel in settings.channels {
            guard case .relay = channel.kind else { continue }
            let on = active.contains { $0.reached.contains(channel.id) }
            if relays[channel.id] != on {
                relays[channel.id] = on
                effects.append(.relay(channel: channel.id, on: on))
            }
        }
        return effects
    }

    /// Which relay channels are on now.
    public var relaysOn: Set<String> { Set(relays.filter(\.value).keys) }

    private mutating func nextID(at now: Date) -> String {
        let year = DeviationID.year(of: now.millisecondsSince1970)
        let number = (highest[year] ?? 0) + 1
        highest[year] = number
        return AlarmID.make(year: year, number: number)
    }

    /// Whether two events are about the same thing: the same deviation, or else the same device
    /// (bus, "labgate") and channel.
    static func sameCondition(_ a: AlertEvent, _ b: AlertEvent) -> Bool {
        if let deviation = a.deviation, let other = b.deviation { return deviation == other }
        return a.device == b.device && a.channel == b.channel
    }

    static func recoveryKind(of kind: AlertEvent.Kind) -> AlertEvent.Kind? {
        recoveries.first { $0.value.contains(kind) }?.key
    }
}
