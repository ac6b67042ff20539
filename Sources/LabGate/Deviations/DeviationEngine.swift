import Foundation

/// The deviation engine: one state machine per device and channel, fed every poll with the lots
/// inside the device at its time.
///
/// - A value past the limits the lots inside are exposed to (`LimitsInForce.exposure`: the
///   tightest of their specs and the equipment limits) starts a run (`ExcursionTracker`) stamped
///   with that first reading. It opens a deviation once the run is due (it has lasted the
///   limit's delay, or passed a critical limit), at the first reading past the limits or the first
///   tick after it is due, whichever comes first (a device that dies during an excursion sends no
///   more readings) — but only while lots are exposed: a reading names
///   the lots whose own spec it breaks (all lots inside when it breaks the equipment limits), and
///   lots placed during the run join it.
/// - The run recovers when values are back inside the limit by its deadband and stay there for
///   its hold time; the deviation ends at the first reading of that hold.
/// - No valid reading for longer than `max_gap` while lots are inside opens a data-gap deviation
///   (`sensor_fault` when the sensor reported a fault), which ends at the next valid reading; a
///   channel with limits but no `max_gap` gets the default (`LimitsInForce.maxGap`).
///
/// The engine only decides; the pipeline commits its changes (and its state, so that a restart
/// or a crash continues delays and open deviations from where they were).
public struct DeviationEngine {
    /// A deviation to open: the pipeline gives it an id and calls `assign`.
    public struct Opening: Sendable {
        public var ref: Ref
        public var record: DeviationRecord
    }

    /// Which run of which channel an opening belongs to.
    public struct Ref: Sendable, Hashable {
        var key: Key
        var gap: Bool
    }

    public enum Change: Sendable {
        case open(Opening)
        case lotsAdded(id: String, lots: [String], time: Int64)
        case recovered(id: String, end: Int64, worst: Double?, size: Double?, value: Double?)
    }

    struct Key: Sendable, Hashable, Codable {
        var device: String
        var channel: String
    }

    /// A channel's run past its limits, with the lots it exposed and its deviation.
    struct Run: Sendable {
        var excursion: ExcursionRun
        var lots: [String]
        var deviation: String?
        /// Asked to open, waiting for its id.
        var opening = false
        /// The latest reading's value while it is past the limits; nil once a reading is back
        /// within them (the run then waits for its hold, and a tick does not open it).
        var lastOut: Double?
    }

    struct Gap: Sendable, Codable {
        var kind: DeviationRecord.Kind
        var start: Int64
        var lots: [String]
        var deviation: String?
    }

    struct ChannelState: Sendable, Codable {
        var run: Run?
        var lastGood: Stamp?
        var lastBad: String?
        var gap: Gap?
    }

    private let config: Config
    /// The configured devices by id: the engine sees every poll of every device.
    private let devices: [String: Device]
    private let clock: StampClock
    private var states: [Key: ChannelState] = [:]
    /// Each channel's limits for the lots last inside, kept until those lots change: the lots
    /// inside change a few times a week, the readings come every second.
    private var limitsInForce: [Key: KeptLimits] = [:]
    /// Set when the state changed in a way a crash must not lose (a run began or ended).
    public private(set) var urgent = false
    /// Set when anything changed since the last `snapshot`.
    public private(set) var dirty = false

    public init(config: Config, state: String? = nil) {
        self.config = config
        self.devices = Dictionary(config.devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.clock = StampClock()
        if let state, let saved = try? AuditJSON.decode([SavedChannel].self, state) {
            for channel in saved { states[Key(device: channel.device, channel: channel.channel)] = channel.state }
        }
    }

    // MARK: Readings

    public mutating func evaluate(_ poll: PollResult, exposure: [LotSpec]) -> [Change] {
        guard let device = devices[poll.device] else { return [] }
        var changes: [Change] = []
        let now = clock.stamp(wall: poll.time, instant: poll.instant)
        for reading in poll.readings {
            let key = Key(device: reading.device, channel: reading.channel)
            var state = states[key] ?? ChannelState()
            let limits = limits(key, device: device, exposure: exposure)
            if reading.quality == .good, let value = reading.value {
                if let gap = state.gap {
                    if let id = gap.deviation {
                        changes.append(.recovered(id: id, end: now.wall, worst: nil, size: nil, value: value))
                    }
                    state.gap = nil
                    urgent = true
                }
                state.lastGood = now
                state.lastBad = nil
                evaluate(value, at: now, key: key, limits: limits, state: &state, changes: &changes)
            } else {
                state.lastBad = reading.quality.rawValue
            }
            states[key] = state
            dirty = true
        }
        changes += checkGaps(device: device, now: now, exposure: exposure)
        return changes
    }

    private mutating func evaluate(
        _ value: Double, at now: Stamp, key: Key, limits: LimitsInForce, state: inout ChannelState,
        changes: inout [Change]
    ) {
        var tracker = ExcursionTracker(run: state.run?.excursion)
        // Back at once when no lots are exposed any more.
        let step = tracker.record(
            value, at: now, limits: limits.exposure, recovery: limits.lotsInside.isEmpty ? .atOnce : .deadbandAndHold)
        if let ended = step.ended {
            if let id = state.run?.deviation {
                changes.append(.recovered(id: id, end: ended.at.wall, worst: ended.run.worst, size: ended.run.size, value: value))
            }
            state.run = nil
            urgent = true
        }
        guard let excursion = tracker.run else { return }
        var run = state.run ?? Run(excursion: excursion, lots: limits.lotsBroken(by: value).sorted())
        run.excursion = excursion
        run.lastOut = step.violation == nil ? nil : value
        if step.began {
            urgent = true
        } else if step.violation != nil {
            let added = limits.lotsBroken(by: value).subtracting(run.lots)
            if !added.isEmpty {
                run.lots = (run.lots + added).sorted()
                if let id = run.deviation {
                    changes.append(.lotsAdded(id: id, lots: added.sorted(), time: now.wall))
                }
                urgent = true
            }
        }
        // Opens on a reading that is itself out of spec, once the run is due.
        if step.violation != nil, run.deviation == nil, !run.opening, !run.lots.isEmpty, excursion.isDue(at: now) {
            run.opening = true
            changes.append(.open(Opening(ref: Ref(key: key, gap: false), record: record(for: run, key: key, now: now, value: value))))
        }
        state.run = run
    }

    private func record(for run: Run, key: Key, now: Stamp, value: Double) -> DeviationRecord {
        let excursion = run.excursion
        return DeviationRecord(
            id: "", kind: .excursion, device: key.device, channel: key.channel, unit: unit(key), limit: excursion.limit,
            start: excursion.first.wall, opened: now.wall, valueAtOpening: value, critical: excursion.critical, end: nil,
            worst: excursion.worst, size: nil, lots: run.lots)
    }

    private func unit(_ key: Key) -> String? {
        devices[key.device].flatMap { config.profile(of: $0).field(key.channel)?.unit }
    }

    private mutating func limits(_ key: Key, device: Device, exposure: [LotSpec]) -> LimitsInForce {
        if let kept = limitsInForce[key], kept.exposure == exposure { return kept.limits }
        let limits = LimitsInForce(config: config, device: device, channel: key.channel, lots: exposure)
        limitsInForce[key] = KeptLimits(exposure: exposure, limits: limits)
        return limits
    }

    /// One channel's kept limits, held by reference: a dictionary keeps up to twice as many
    /// buckets as entries, and inline each bucket was a whole `LimitsInForce` (~0.8 KB): 1.7 MB
    /// at 1000 channels, half of it empty buckets (BENCHMARKS.md, scale).
    private final class KeptLimits: Sendable {
        let exposure: [LotSpec]
        let limits: LimitsInForce

        init(exposure: [LotSpec], limits: LimitsInForce) {
            self.exposure = exposure
            self.limits = limits
        }
    }

    // MARK: Gaps

    /// Lets the engine see time pass without readings: opens the runs that have become due since
    /// their last reading (past the limits) and checks every device for channels without a valid
    /// reading for longer than their max_gap while lots are inside. The pipeline calls it on its
    /// timer, with the lots inside now; tests pass the moment.
    public mutating func tick(
        wall: Date = Date(), instant: ContinuousClock.Instant = .now, exposure: (String) -> [LotSpec]
    ) -> [Change] {
        let now = clock.stamp(wall: wall, instant: instant)
        var changes: [Change] = []
        for device in config.devices {
            let inside = exposure(device.id)
            changes += openDueRuns(device: device, now: now, exposure: inside)
            changes += checkGaps(device: device, now: now, exposure: inside)
        }
        return changes
    }

    /// Opens the deviation of each run of `device` that is due by `now` while its latest reading
    /// was past the limits and one of its lots is still inside: the run has lasted its delay
    /// whether more readings come or not.
    private mutating func openDueRuns(device: Device, now: Stamp, exposure: [LotSpec]) -> [Change] {
        guard !exposure.isEmpty else { return [] }
        let inside = Set(exposure.map(\.lot))
        var changes: [Change] = []
        for field in config.profile(of: device).fields {
            let key = Key(device: device.id, channel: field.channel)
            guard var run = states[key]?.run, run.deviation == nil, !run.opening, let value = run.lastOut,
                run.lots.contains(where: inside.contains), run.excursion.isDue(at: now)
            else { continue }
            run.opening = true
            states[key]?.run = run
            urgent = true
            changes.append(.open(Opening(ref: Ref(key: key, gap: false), record: record(for: run, key: key, now: now, value: value))))
        }
        return changes
    }

    private mutating func checkGaps(device: Device, now: Stamp, exposure: [LotSpec]) -> [Change] {
        var changes: [Change] = []
        for field in config.profile(of: device).fields {
            let key = Key(device: device.id, channel: field.channel)
            var state = states[key] ?? ChannelState()
            defer { states[key] = state }
            if var gap = state.gap {
                let added = Set(exposure.map(\.lot)).subtracting(gap.lots)
                if !added.isEmpty {
                    gap.lots = (gap.lots + added).sorted()
                    state.gap = gap
                    urgent = true
                    if let id = gap.deviation { changes.append(.lotsAdded(id: id, lots: added.sorted(), time: now.wall)) }
                }
                continue
            }
            guard let lastGood = state.lastGood else {
                // Monitoring of this channel begins now.
                state.lastGood = now
                dirty = true
                continue
            }
            guard !exposure.isEmpty, let maxGap = limits(key, device: device, exposure: exposure).maxGap, Stamp.elapsed(from: lastGood, to: now) > maxGap.value
            else { continue }
            let kind: DeviationRecord.Kind = state.lastBad == Quality.sensorFault.rawValue ? .sensorFault : .dataGap
            let lots = exposure.map(\.lot).sorted()
            state.gap = Gap(kind: kind, start: lastGood.wall, lots: lots, deviation: nil)
            urgent = true
            let record = DeviationRecord(
                id: "", kind: kind, device: device.id, channel: field.channel, unit: field.unit,
                limit: .init(name: "max_gap", value: maxGap.value.seconds, source: maxGap.source), start: lastGood.wall,
                opened: now.wall, valueAtOpening: nil, critical: false, end: nil, worst: nil, size: nil, lots: lots)
            changes.append(.open(Opening(ref: Ref(key: key, gap: true), record: record)))
        }
        return changes
    }

    // MARK: Ids and state

    /// Gives an opened deviation its id.
    public mutating func assign(_ id: String, to ref: Ref) {
        guard var state = states[ref.key] else { return }
        if ref.gap {
            state.gap?.deviation = id
        } else {
            state.run?.deviation = id
            state.run?.opening = false
        }
        states[ref.key] = state
        urgent = true
    }

    /// The ids of the deviations the engine holds open.
    public var openDeviations: Set<String> {
        var ids = Set<String>()
        for state in states.values {
            if let id = state.run?.deviation { ids.insert(id) }
            if let id = state.gap?.deviation { ids.insert(id) }
        }
        return ids
    }

    /// The running size and worst value of an open deviation, for display.
    public func progress(of id: String) -> (worst: Double?, size: Double?)? {
        for state in states.values {
            if let run = state.run, run.deviation == id { return (run.excursion.worst, run.excursion.size) }
            if let gap = state.gap, gap.deviation == id { return (nil, nil) }
        }
        return nil
    }

    private struct SavedChannel: Codable {
        var device: String
        var channel: String
        var state: ChannelState
    }

    /// The state to persist; clears `urgent` and `dirty`.
    public mutating func snapshot() -> String {
        urgent = false
        dirty = false
        // One channel at a time: the same text as encoding the sorted array whole, without the
        // encoder's tree of all 1000 channels at once (~2 MB every 5 s at 250 devices).
        let states = states
        let keys = states.keys.sorted { ($0.device, $0.channel) < ($1.device, $1.channel) }
        return AuditJSON.encodeArray(keys.lazy.compactMap { key in
            states[key].map { SavedChannel(device: key.device, channel: key.channel, state: $0) }
        })
    }
}

/// A run is saved as one object: the run's own keys (`ExcursionRun`) beside the deviation's, as
/// before the run tracker was shared.
extension DeviationEngine.Run: Codable {
    private enum CodingKeys: String, CodingKey {
        case lots, deviation, opening, lastOut
    }

    init(from decoder: any Decoder) throws {
        excursion = try ExcursionRun(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lots = try container.decode([String].self, forKey: .lots)
        deviation = try container.decodeIfPresent(String.self, forKey: .deviation)
        opening = try container.decode(Bool.self, forKey: .opening)
        lastOut = try container.decodeIfPresent(Double.self, forKey: .lastOut)
    }

    func encode(to encoder: any Encoder) throws {
        try excursion.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lots, forKey: .lots)
        try container.encodeIfPresent(deviation, forKey: .deviation)
        try container.encode(opening, forKey: .opening)
        try container.encodeIfPresent(lastOut, forKey: .lastOut)
    }
}
