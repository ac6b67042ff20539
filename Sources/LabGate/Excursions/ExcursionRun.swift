/// A run of readings past a channel's limits, from its first reading to the reading that ends
/// it; `ExcursionTracker` says how it starts, grows and ends.
struct ExcursionRun: Sendable, Hashable {
    enum Side: String, Sendable, Codable { case low, high }

    var side: Side
    /// The limit as reported: the bound passed first (`low`/`high`), and from the first reading
    /// past a critical limit on, that one (`critical_low`/`critical_high`).
    var limit: AlertEvent.Limit
    /// How long the run must last to count: the delay of the bound passed first.
    var delay: Duration
    /// The first reading past the limit, and its value.
    var first: Stamp
    var valueAtFirst: Double
    /// The furthest value past the limit so far.
    var worst: Double
    /// Unit-minutes past `limit` so far: each reading's excess times the time since the one before
    /// (monotonic, so a wall-clock step neither inflates it nor makes it negative).
    var size: Double
    /// The latest reading.
    var last: Stamp
    /// The first reading of the stretch back inside the bound by its deadband, while the run waits
    /// for that stretch to last the bound's hold.
    var backSince: Stamp?
    /// Whether a critical limit was passed.
    var critical: Bool

    /// Whether the run counts by `now`: it has lasted its delay, or passed a critical limit.
    func isDue(at now: Stamp) -> Bool {
        critical || Stamp.elapsed(from: first, to: now) >= delay
    }
}

/// The engine's persisted state holds runs under these keys, as written before the equipment
/// alerts and the deviation engine shared this type (`DeviationEngineTests`: state saved by an
/// earlier version); a daemon restarted after an upgrade continues its runs.
extension ExcursionRun: Codable {
    private enum CodingKeys: String, CodingKey {
        case side, limit, delayMS, first, valueAtFirst, worst, area, lastWall, last, backSince, critical
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        side = try container.decode(Side.self, forKey: .side)
        limit = try container.decode(AlertEvent.Limit.self, forKey: .limit)
        delay = .milliseconds(try container.decode(Int64.self, forKey: .delayMS))
        first = try container.decode(Stamp.self, forKey: .first)
        valueAtFirst = try container.decode(Double.self, forKey: .valueAtFirst)
        worst = try container.decode(Double.self, forKey: .worst)
        size = try container.decode(Double.self, forKey: .area)
        // State saved before `last` was kept has only its wall time: the next step counts on the wall clock.
        let lastWall = try container.decode(Int64.self, forKey: .lastWall)
        last = try container.decodeIfPresent(Stamp.self, forKey: .last) ?? Stamp(wall: lastWall, mono: 0, boot: "")
        backSince = try container.decodeIfPresent(Stamp.self, forKey: .backSince)
        critical = try container.decode(Bool.self, forKey: .critical)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(side, forKey: .side)
        try container.encode(limit, forKey: .limit)
        let (seconds, attoseconds) = delay.components
        try container.encode(seconds * 1000 + attoseconds / 1_000_000_000_000_000, forKey: .delayMS)
        try container.encode(first, forKey: .first)
        try container.encode(valueAtFirst, forKey: .valueAtFirst)
        try container.encode(worst, forKey: .worst)
        try container.encode(size, forKey: .area)
        try container.encode(last.wall, forKey: .lastWall)
        if !last.boot.isEmpty { try container.encode(last, forKey: .last) }
        try container.encodeIfPresent(backSince, forKey: .backSince)
        try container.encode(critical, forKey: .critical)
    }
}
