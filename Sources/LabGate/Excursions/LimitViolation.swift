/// How a value breaks a channel's limits.
package struct LimitViolation: Sendable, Hashable {
    var side: ExcursionRun.Side
    /// The low or high bound on that side (for a critical limit without one, a bound at the
    /// critical limit with no delay): its delay and recovery rule apply to the run.
    var bound: ChannelLimits.Bound
    var critical: Bool
    /// The limit as reported: `low`/`high`, or `critical_low`/`critical_high` when that was passed.
    package var limit: AlertEvent.Limit

    /// `bound` as reported: `low` or `high`, even when a critical limit was passed.
    var boundLimit: AlertEvent.Limit {
        .init(name: side.rawValue, value: bound.value, source: bound.source)
    }
}

extension ChannelLimits {
    /// How `value` breaks these limits, critical limits first; nil when it is within them.
    package func violation(by value: Double) -> LimitViolation? {
        if let critical = criticalLow, value < critical {
            let bound = low ?? .init(value: critical, delay: .zero, source: "critical limit")
            return LimitViolation(
                side: .low, bound: bound, critical: true,
                limit: .init(name: "critical_low", value: critical, source: bound.source))
        }
        if let critical = criticalHigh, value > critical {
            let bound = high ?? .init(value: critical, delay: .zero, source: "critical limit")
            return LimitViolation(
                side: .high, bound: bound, critical: true,
                limit: .init(name: "critical_high", value: critical, source: bound.source))
        }
        if let low, value < low.value {
            return LimitViolation(side: .low, bound: low, critical: false, limit: .init(name: "low", value: low.value, source: low.source))
        }
        if let high, value > high.value {
            return LimitViolation(
                side: .high, bound: high, critical: false, limit: .init(name: "high", value: high.value, source: high.source))
        }
        return nil
    }

    /// The bound on `side`, if any.
    func bound(_ side: ExcursionRun.Side) -> Bound? {
        side == .low ? low : high
    }
}
