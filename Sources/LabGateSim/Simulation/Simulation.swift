import LabGate

/// The simulated world in simulated time: every device of a config with its physics, and the
/// scenario's events starting and ending on schedule. A plain value, stepped by whoever owns it
/// (`Simulator` with a real-time clock, tests directly); seeded, it replays exactly.
public struct Simulation: Sendable {
    /// Longest physics step; longer advances are split into steps of this size.
    public static let maxStep = Duration.seconds(1)

    public let config: Config
    public let scenario: Scenario
    /// Simulated time since the start.
    public private(set) var now: Duration = .zero
    public private(set) var devices: [SimulatedDevice]
    private let index: [String: Int]
    /// Device index by bus id and unit id.
    private let units: [String: [Int: Int]]
    private let transitions: [Transition]
    private var nextTransition = 0
    private var random: SimRandom

    private struct Transition {
        var time: Duration
        var event: Int
        var starts: Bool
    }

    public init(config: Config, scenario: Scenario = Scenario(), seed: UInt64? = nil) {
        self.config = config
        self.scenario = scenario
        var random = seed.map(SimRandom.init(seed:)) ?? SimRandom()
        devices = config.devices.map {
            SimulatedDevice(device: $0, profile: config.profile(of: $0), watchdog: scenario.watchdog(of: $0.id), random: &random)
        }
        self.random = random
        var index: [String: Int] = [:]
        var units: [String: [Int: Int]] = [:]
        for (position, device) in config.devices.enumerated() {
            if index[device.id] == nil { index[device.id] = position }
            if units[device.bus, default: [:]][device.unit] == nil { units[device.bus, default: [:]][device.unit] = position }
        }
        self.index = index
        self.units = units
        var transitions: [Transition] = []
        for (number, event) in scenario.events.enumerated() where index[event.device] != nil {
            transitions.append(Transition(time: event.at, event: number, starts: true))
            if let end = event.end { transitions.append(Transition(time: end, event: number, starts: false)) }
        }
        // In time order; at the same moment endings first, then in file order.
        self.transitions = transitions.enumerated().sorted { a, b in
            if a.element.time != b.element.time { return a.element.time < b.element.time }
            if a.element.starts != b.element.starts { return !a.element.starts }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// The device with this id.
    public func device(_ id: String) -> SimulatedDevice? {
        index[id].map { devices[$0] }
    }

    /// The current reading of a device's channel.
    public func value(device: String, channel: String) -> Double? {
        self.device(device)?.value(channel: channel)
    }

    /// Advance simulated time by `duration`; `announce` hears each event as it starts or ends.
    public mutating func advance(by duration: Duration, announce: (String) -> Void = { _ in }) {
        advance(to: now + duration, announce: announce)
    }

    /// Advance simulated time to `time` (no-op when already there), in steps of at most `maxStep`,
    /// starting and ending scenario events exactly at their times.
    public mutating func advance(to time: Duration, announce: (String) -> Void = { _ in }) {
        applyDueTransitions(announce)
        while now < time {
            var next = min(time, now + Self.maxStep)
            if nextTransition < transitions.count { next = min(next, transitions[nextTransition].time) }
            let seconds = (next - now).seconds
            for position in devices.indices {
                devices[position].step(seconds: seconds, random: &random)
            }
            now = next
            applyDueTransitions(announce)
        }
    }

    private mutating func applyDueTransitions(_ announce: (String) -> Void) {
        while nextTransition < transitions.count, transitions[nextTransition].time <= now {
            let transition = transitions[nextTransition]
            nextTransition += 1
            let event = scenario.events[transition.event]
            guard let position = index[event.device] else { continue }
            if transition.starts {
                devices[position].begin(event, index: transition.event)
                announce("sim \(SimTimeText.format(transition.time)) \(event.device) \(event.summary)")
            } else {
                devices[position].end(index: transition.event)
                announce("sim \(SimTimeText.format(transition.time)) \(event.device) \(event.kind.name) ended")
            }
        }
    }

    /// Makes a device's channel read `value` from now on (nil: the physics again); false when the
    /// device or the channel does not exist.
    @discardableResult
    public mutating func force(device: String, channel: String, to value: Double?) -> Bool {
        guard let position = index[device], devices[position].profile.fields.contains(where: { $0.channel == channel }) else {
            return false
        }
        devices[position].force(channel: channel, to: value)
        return true
    }

    /// How the replies of unit `unit` on bus `bus` go wrong on the wire now.
    public func wireFaults(bus: String, unit: UInt8) -> WireFaults {
        guard let position = units[bus]?[Int(unit)] else { return WireFaults() }
        return devices[position].wireFaults
    }

    /// Whether bus `bus`'s serial port is gone now (a `port_vanish` event on any of its devices).
    public func isPortVanished(bus: String) -> Bool {
        units[bus]?.values.contains { devices[$0].portVanished } ?? false
    }

    /// Whether a device with unit id `unit` is on bus `bus` (on a serial line, other ids get no reply).
    public func hasUnit(bus: String, unit: UInt8) -> Bool {
        units[bus]?[Int(unit)] != nil
    }

    /// The answer of unit `unit` on bus `bus` to `request` arriving at `now` (real time); a unit
    /// no device has gets exception 0x0B (gateway target device failed to respond). An I/O
    /// module whose watchdog has run out drops its outputs first (`announce` hears it).
    public mutating func reply(
        bus: String, unit: UInt8, request: ModbusRequest, at now: ContinuousClock.Instant = .now,
        announce: (String) -> Void = { _ in }
    ) -> ModbusReply {
        guard let position = units[bus]?[Int(unit)] else { return .exception(.gatewayTargetFailed) }
        expireWatchdog(position, at: now, announce: announce)
        return devices[position].reply(to: request, at: now)
    }

    /// Every I/O module whose communication watchdog has run out by `now` (real time) drops its
    /// outputs; `announce` hears each one that had an output on.
    public mutating func expireWatchdogs(at now: ContinuousClock.Instant, announce: (String) -> Void = { _ in }) {
        for position in devices.indices where devices[position].outputs != nil {
            expireWatchdog(position, at: now, announce: announce)
        }
    }

    private mutating func expireWatchdog(_ position: Int, at now: ContinuousClock.Instant, announce: (String) -> Void) {
        guard devices[position].expireWatchdog(at: now), let watchdog = devices[position].outputs?.watchdog else { return }
        announce(
            "sim \(SimTimeText.format(self.now)) \(devices[position].device.id) communication watchdog: "
                + "no write for \(DurationText.format(watchdog)), outputs off")
    }

    /// The coils of I/O module `device` (nil: no such module).
    public func coils(device: String) -> [Bool]? {
        self.device(device)?.outputs?.coils
    }

    /// The output registers of I/O module `device` (nil: no such module).
    public func outputRegisters(device: String) -> [UInt16]? {
        self.device(device)?.outputs?.registers
    }
}
