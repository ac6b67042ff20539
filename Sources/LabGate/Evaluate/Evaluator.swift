import Foundation

/// Turns poll results into alert events: excursions per channel against the device's own limits,
/// sensor faults per channel, and reachability per device.
public struct Evaluator {
    private var channels: [String: [String: ChannelEvaluator]] = [:]
    private var health: [String: DeviceHealth] = [:]
    private var faulted: Set<String> = []
    private let units: [String: [String: String]]
    private let unreachableAfter: [String: Int]
    private let clock = StampClock()

    private struct DeviceHealth {
        var failedPolls = 0
        var firstFailure: Date?
        var unreachable = false
    }

    public init(config: Config) {
        var units: [String: [String: String]] = [:]
        for device in config.devices {
            let profile = config.profile(of: device)
            units[device.id] = Dictionary(profile.fields.map { ($0.channel, $0.unit) }, uniquingKeysWith: { a, _ in a })
            for field in profile.fields {
                let inForce = LimitsInForce(config: config, device: device, channel: field.channel, lots: [])
                guard let limits = inForce.device else { continue }
                channels[device.id, default: [:]][field.channel] = ChannelEvaluator(
                    device: device.id, channel: field.channel, unit: field.unit, limits: limits)
            }
        }
        self.units = units
        self.unreachableAfter = Dictionary(config.devices.map { ($0.id, $0.unreachableAfter) }, uniquingKeysWith: { a, _ in a })
    }

    public mutating func evaluate(_ event: PollingEvent) -> [AlertEvent] {
        switch event {
        case let .poll(poll): evaluate(poll)
        case let .bus(change): [busEvent(change)]
        }
    }

    private func busEvent(_ change: BusStatusChange) -> AlertEvent {
        // Bus events name the bus where device events name the device.
        AlertEvent(
            time: change.time, severity: change.up ? .info : .critical, event: change.up ? .busUp : .busDown,
            device: change.bus, detail: change.reason)
    }

    mutating func evaluate(_ poll: PollResult) -> [AlertEvent] {
        var events = reachability(poll)
        let now = clock.stamp(wall: poll.time, instant: poll.instant)
        for reading in poll.readings {
            let key = "\(reading.device)\u{0}\(reading.channel)"
            switch reading.quality {
            case .good:
                if faulted.remove(key) != nil {
                    events.append(AlertEvent(
                        time: reading.time, severity: .info, event: .channelRecovered, device: reading.device,
                        channel: reading.channel, value: reading.value, unit: unit(reading)))
                }
                if let value = reading.value {
                    events += channels[reading.device]?[reading.channel]?
                        .evaluate(value: value, time: reading.time, at: now) ?? []
                }
            case .sensorFault, .exception, .badResponse:
                // Reachable but no trustworthy value: a per-channel fault, raised once.
                if faulted.insert(key).inserted {
                    events.append(AlertEvent(
                        time: reading.time, severity: .warning, event: .channelFault, device: reading.device,
                        channel: reading.channel, unit: unit(reading), detail: reading.detail))
                }
            case .timeout, .disconnected, .skipped:
                break
            }
        }
        return events
    }

    /// Lets the excursion alerts see time pass without readings (the pipeline's timer): a run
    /// that has lasted its delay is announced even when its device has stopped answering.
    public mutating func tick(wall: Date = Date(), instant: ContinuousClock.Instant = .now) -> [AlertEvent] {
        let now = clock.stamp(wall: wall, instant: instant)
        var events: [AlertEvent] = []
        for device in channels.keys.sorted() {
            for channel in channels[device]!.keys.sorted() {
                events += channels[device]![channel]!.tick(time: wall, at: now)
            }
        }
        return events
    }

    private func unit(_ reading: Reading) -> String? {
        units[reading.device]?[reading.channel]
    }

    private mutating func reachability(_ poll: PollResult) -> [AlertEvent] {
        // A slot skipped during backoff says nothing new about the device.
        if poll.skipped { return [] }
        var state = health[poll.device] ?? DeviceHealth()
        defer { health[poll.device] = state }
        guard let failure = poll.failure else {
            defer { state = DeviceHealth() }
            guard state.unreachable else { return [] }
            return [AlertEvent(
                time: poll.time, severity: .info, event: .deviceBack, device: poll.device, since: state.firstFailure,
                detail: "answering again")]
        }
        state.failedPolls += 1
        if state.firstFailure == nil { state.firstFailure = poll.time }
        guard !state.unreachable, state.failedPolls >= unreachableAfter[poll.device, default: 1] else { return [] }
        state.unreachable = true
        return [AlertEvent(
            time: poll.time, severity: .critical, event: .deviceUnreachable, device: poll.device,
            since: state.firstFailure, detail: "\(state.failedPolls) polls failed: \(failure)")]
    }
}
