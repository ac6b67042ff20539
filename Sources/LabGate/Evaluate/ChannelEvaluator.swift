import Foundation

/// The excursion state machine of one device channel.
///
/// A reading past `low` or `high` starts an out-of-spec run stamped with that first reading; the
/// run becomes an excursion once it has lasted the limit's delay (measured on the monotonic
/// clock), or at once past a critical limit. A reading back within limits ends it. A run shorter
/// than the delay (a door opening) ends silently.
struct ChannelEvaluator {
    let device: String
    let channel: String
    let unit: String
    let limits: ChannelLimits

    private struct Run {
        var side: Side
        var bound: ChannelLimits.Bound
        var firstTime: Date
        var firstInstant: ContinuousClock.Instant
        var worst: Double
        var alerted = false
        var critical = false
    }

    enum Side { case low, high }

    private var run: Run?

    init(device: String, channel: String, unit: String, limits: ChannelLimits) {
        self.device = device
        self.channel = channel
        self.unit = unit
        self.limits = limits
    }

    mutating func evaluate(value: Double, time: Date, instant: ContinuousClock.Instant) -> [AlertEvent] {
        var events: [AlertEvent] = []
        guard let (side, bound, critical) = violation(value) else {
            if let run, run.alerted { events.append(recovered(run, value: value, time: time)) }
            run = nil
            return events
        }
        if let current = run, current.side != side {
            if current.alerted { events.append(recovered(current, value: value, time: time)) }
            run = nil
        }
        var current = run ?? Run(side: side, bound: bound, firstTime: time, firstInstant: instant, worst: value)
        current.worst = side == .low ? min(current.worst, value) : max(current.worst, value)
        if critical, !current.critical {
            current.critical = true
            current.alerted = true
            let name = side == .low ? "critical_low" : "critical_high"
            let limitValue = (side == .low ? limits.criticalLow : limits.criticalHigh) ?? bound.value
            events.append(event(
                .excursionCritical, .critical, value: value, time: time, since: current.firstTime, worst: current.worst,
                limit: .init(name: name, value: limitValue, source: bound.source)))
        } else if !current.alerted, instant - current.firstInstant >= current.bound.delay {
            current.alerted = true
            events.append(event(
                .excursionBegan, .warning, value: value, time: time, since: current.firstTime, worst: current.worst,
                limit: limit(current)))
        }
        run = current
        return events
    }

    /// Which side is violated, the bound that applies there, and whether a critical limit is passed.
    private func violation(_ value: Double) -> (Side, ChannelLimits.Bound, Bool)? {
        if let critical = limits.criticalLow, value < critical {
            return (.low, limits.low ?? .init(value: critical, delay: .zero, source: "critical limit"), true)
        }
        if let critical = limits.criticalHigh, value > critical {
            return (.high, limits.high ?? .init(value: critical, delay: .zero, source: "critical limit"), true)
        }
        if let low = limits.low, value < low.value { return (.low, low, false) }
        if let high = limits.high, value > high.value { return (.high, high, false) }
        return nil
    }

    private func limit(_ run: Run) -> AlertEvent.Limit {
        .init(name: run.side == .low ? "low" : "high", value: run.bound.value, source: run.bound.source)
    }

    private func recovered(_ run: Run, value: Double, time: Date) -> AlertEvent {
        event(.excursionRecovered, .info, value: value, time: time, since: run.firstTime, worst: run.worst, limit: limit(run))
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
