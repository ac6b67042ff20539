/// When each device of a bus is next due. A poll is due at start + offset + k·every, whatever the
/// previous replies cost, so the schedule never drifts. A late poll runs at once; a poll a whole
/// period late is skipped and counted, so a slow bus never piles up polls.
///
/// The offsets (see `phased`) spread the buses of a daemon over the period, so that they do not
/// all wake together.
struct FixedRateSchedule<Instant: InstantProtocol> where Instant.Duration == Swift.Duration {
    private(set) var due: [Instant]
    let periods: [Duration]

    init(start: Instant, periods: [Duration], offsets: [Duration] = []) {
        self.due = periods.indices.map { start.advanced(by: offsets.indices.contains($0) ? offsets[$0] : .zero) }
        self.periods = periods
    }

    /// First-slot offsets for the devices of one bus: its `phase` (in [0, 1); bus b of B has b/B)
    /// of each device's period, but of at most `maxSpread` (so that a device polled every 30 s is
    /// still first read within a second of the start). The buses of a daemon then wake one after
    /// another (25 buses polled every second: 40 ms apart) instead of all at once; the devices of
    /// one bus share their slot and are polled back to back, one wake-up for all of them.
    /// (Spreading each device over the period as well was measured: it halves the lateness but
    /// doubles the CPU, one wake-up per poll; BENCHMARKS.md.)
    static func phased(periods: [Duration], phase: Double, maxSpread: Duration = .seconds(1)) -> [Duration] {
        periods.map { period in .nanoseconds(Int64((min(period, maxSpread).seconds * phase * 1e9).rounded())) }
    }

    /// The device due first and when.
    var next: (index: Int, at: Instant)? {
        due.indices.min { due[$0] < due[$1] }.map { ($0, due[$0]) }
    }

    /// Moves device `index` to its next slot after a poll that ended at `now`; returns how many
    /// slots were skipped because they had passed by a whole period.
    mutating func completed(_ index: Int, now: Instant) -> Int {
        let every = periods[index]
        var next = due[index].advanced(by: every)
        var skipped = 0
        while next.advanced(by: every) <= now {
            next = next.advanced(by: every)
            skipped += 1
        }
        due[index] = next
        return skipped
    }
}
