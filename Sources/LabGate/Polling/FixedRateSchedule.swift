/// When each device of a bus is next due. A poll is due at start + k·every, whatever the previous
/// replies cost, so the schedule never drifts. A late poll runs at once; a poll a whole period
/// late is skipped and counted, so a slow bus never piles up polls.
struct FixedRateSchedule<Instant: InstantProtocol> where Instant.Duration == Swift.Duration {
    private(set) var due: [Instant]
    let periods: [Duration]

    init(start: Instant, periods: [Duration]) {
        self.due = periods.map { _ in start }
        self.periods = periods
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
