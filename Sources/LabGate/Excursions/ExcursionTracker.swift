/// The run tracker of one channel: the one state machine behind equipment excursions
/// (`excursion_*`, against the device's own limits) and lot deviations (`deviation_*`, against
/// the limits the lots inside are exposed to). It only follows the run; what a run means
/// (an alert, a deviation with its lots) is its user's business.
///
/// A reading `v` at moment `t` (a `Stamp`: delays and holds on the monotonic clock), against the
/// limits `L` in force at `t`:
/// - `v` past `L` on side `s` (critical limits looked at first): with no run, or a run on the
///   other side (which ends at `t`), a run starts at `t` with the delay of the bound passed.
///   A run on `s` goes on: `worst` moves out to `v`, `size += excess(v) · (t − last)`, the time
///   since the run's previous reading on the monotonic clock, never negative (excess past the
///   run's reported limit), and a critical limit passed makes it critical, its
///   reported limit that critical one from then on.
/// - A run is due at `first + delay`, or at once when critical (`ExcursionRun.isDue`).
/// - `v` within `L`: the run ends at the first reading `b` of a stretch back inside the bound on
///   `s` in force at `t` by its deadband (`v ≥ low + deadband`, `v ≤ high − deadband`), at the
///   first reading with `t − b ≥ hold`. A reading within `L` but not by the deadband starts the
///   stretch again. With recovery `.atOnce`, or no bound on `s` any more, `b = t` and no hold.
struct ExcursionTracker: Sendable {
    /// How a run that is back within the limits ends.
    enum Recovery: Sendable {
        /// At the first reading within the limits (equipment alerts; deviations when no lot is inside).
        case atOnce
        /// Back inside the bound by its deadband, for its hold (deviations).
        case deadbandAndHold
    }

    /// What one reading did.
    struct Step: Sendable {
        /// How the reading breaks the limits in force; nil when it is within them.
        var violation: LimitViolation?
        /// The run the reading ended, and the moment it ended: the first reading of the stretch
        /// back that held, or this reading when it is past the other side.
        var ended: (run: ExcursionRun, at: Stamp)?
        /// Whether the reading started a run (it is then the run's first reading).
        var began = false
        /// Whether the reading passed a critical limit for the first time in its run.
        var becameCritical = false
    }

    private(set) var run: ExcursionRun?

    init(run: ExcursionRun? = nil) {
        self.run = run
    }

    mutating func record(_ value: Double, at now: Stamp, limits: ChannelLimits?, recovery: Recovery) -> Step {
        let violation = limits.flatMap { $0.violation(by: value) }
        var step = Step(violation: violation)
        guard let violation else {
            guard var current = run else { return step }
            current.last = now
            // No bound to come back inside of (recovery at once, or none on that side any more): back now.
            let bound = recovery == .deadbandAndHold ? limits?.bound(current.side) : nil
            if let bound, !Self.isInside(value, bound, current.side) {
                current.backSince = nil
            } else {
                let since = current.backSince ?? now
                if Stamp.elapsed(from: since, to: now) >= bound?.hold ?? .zero {
                    step.ended = (current, since)
                    run = nil
                    return step
                }
                current.backSince = since
            }
            run = current
            return step
        }
        if var current = run, current.side == violation.side {
            current.size += Self.excess(value, past: current) * Self.minutes(from: current.last, to: now)
            current.last = now
            current.worst = current.side == .low ? min(current.worst, value) : max(current.worst, value)
            current.backSince = nil
            if violation.critical, !current.critical {
                current.critical = true
                current.limit = violation.limit
                step.becameCritical = true
            }
            run = current
            return step
        }
        if let old = run { step.ended = (old, now) }
        run = ExcursionRun(
            side: violation.side, limit: violation.limit, delay: violation.bound.delay, first: now, valueAtFirst: value,
            worst: value, size: 0, last: now, backSince: nil, critical: violation.critical)
        step.began = true
        step.becameCritical = violation.critical
        return step
    }

    /// Whether `value` is inside `bound` on `side` by the bound's deadband.
    private static func isInside(_ value: Double, _ bound: ChannelLimits.Bound, _ side: ExcursionRun.Side) -> Bool {
        side == .low ? value >= bound.value + bound.deadband : value <= bound.value - bound.deadband
    }

    /// Minutes from `a` to `b` on the monotonic clock (the wall clock across a reboot), never
    /// negative: a wall clock stepped back between two readings of a saved run adds nothing.
    private static func minutes(from a: Stamp, to b: Stamp) -> Double {
        let (seconds, attoseconds) = Stamp.elapsed(from: a, to: b).components
        return max(0, (Double(seconds) + Double(attoseconds) / 1e18) / 60)
    }

    private static func excess(_ value: Double, past run: ExcursionRun) -> Double {
        run.side == .low ? max(0, run.limit.value - value) : max(0, value - run.limit.value)
    }
}
