import Foundation

/// The equipment excursion alerts of one device channel, against the device's own limits
/// (`LimitsInForce.device`), whether lots are inside or not.
///
/// The run (`ExcursionTracker`) is announced once it is due: `excursion_began` after the limit's
/// delay (at the first reading or tick after it, so a device that stops answering during the run
/// does not hold the line back), `excursion_critical` at once when a critical limit is passed (also during a run already
/// announced); an announced run that ends (at the first reading back within the limits, or past
/// the other side) says `excursion_recovered`. A run that ends before it is due (a door opening)
/// says nothing. Every line is stamped with the run's first reading.
struct ChannelEvaluator {
    let device: String
    let channel: String
    let unit: String
    let limits: ChannelLimits

    private var tracker = ExcursionTracker()
    /// What the alerts say of the run in progress.
    private var announced: Announcement?

    private struct Announcement {
        /// The wall time of the run's first reading.
        var since: Date
        /// The bound the run passed first (`low`/`high`), which `began` and `recovered` name.
        var bound: AlertEvent.Limit
        var raised = false
        /// The latest reading's value (past the limits: a reading within them ends the run).
        var value: Double
    }

    init(device: String, channel: String, unit: String, limits: ChannelLimits) {
        self.device = device
        self.channel = channel
        self.unit = unit
        self.limits = limits
    }

    mutating func evaluate(value: Double, time: Date, at now: Stamp) -> [AlertEvent] {
        var events: [AlertEvent] = []
        let step = tracker.record(value, at: now, limits: limits, recovery: .atOnce)
        if let ended = step.ended, let announced, announced.raised {
            events.append(event(
                .excursionRecovered, .info, value: value, time: time, since: announced.since, worst: ended.run.worst,
                limit: announced.bound))
        }
        guard let run = tracker.run, let violation = step.violation else {
            announced = nil
            return events
        }
        if step.began { announced = Announcement(since: time, bound: violation.boundLimit, value: value) }
        guard var current = announced else { return events }
        current.value = value
        if step.becameCritical {
            current.raised = true
            events.append(event(
                .excursionCritical, .critical, value: value, time: time, since: current.since, worst: run.worst,
                limit: violation.limit))
        } else if !current.raised, run.isDue(at: now) {
            current.raised = true
            events.append(event(
                .excursionBegan, .warning, value: value, time: time, since: current.since, worst: run.worst,
                limit: current.bound))
        }
        announced = current
        return events
    }

    /// Time passing without a reading: announces the run in progress once it is due, with the
    /// latest reading's value.
    mutating func tick(time: Date, at now: Stamp) -> [AlertEvent] {
        guard let run = tracker.run, var current = announced, !current.raised, run.isDue(at: now) else { return [] }
        current.raised = true
        announced = current
        return [event(
            .excursionBegan, .warning, value: current.value, time: time, since: current.since, worst: run.worst,
            limit: current.bound)]
    }

    private func event(
        _ kind: AlertEvent.Kind, _ severity: AlertEvent.Severity, value: Double, time: Date, since: Date, worst: Double,
        limit: AlertEvent.Limit
    ) -> AlertEvent {
        AlertEvent(
            time: time, severity: severity, event: kind, device: device, channel: channel, value: value, unit: unit,
            limit: limit, since: since, worst: worst)
    }
}
