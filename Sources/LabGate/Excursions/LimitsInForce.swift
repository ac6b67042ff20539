/// The limits in force on one device channel at one moment, given the device and the lots inside
/// it: the one place where the device's equipment limits, the device's spec and the lots' specs
/// are combined. Each reader follows the combination the README documents for it:
///
/// - `device`, the device's own limits (its equipment limits and its spec): equipment excursions
///   (`excursion_*`) follow them, whether lots are inside or not;
/// - `exposure`, the lots' specs and the equipment limits (not the device's spec): deviations
///   (`deviation_*`) follow them while lots are inside;
/// - `shown`, all of them: the status views colour a value by them.
///
/// Each is the tightest of its sources (`ChannelLimits.tightest`).
public struct LimitsInForce: Sendable {
    public let device: ChannelLimits?
    public let exposure: ChannelLimits?
    public let shown: ChannelLimits?
    /// The device's equipment limits alone.
    let equipment: ChannelLimits?
    /// The lots inside, and each one's spec limits on this channel (lots whose spec has none are left out).
    let lots: [(lot: String, limits: ChannelLimits)]
    let lotsInside: [String]
    /// The shortest `max_gap` of the equipment limits and the lots' specs, and where it was
    /// configured; with none configured, while lots are inside and the channel has limits for
    /// them, the default (`defaultMaxGap`): a lot's channel is never left without a gap check.
    public let maxGap: (value: Duration, source: String)?

    /// Where a default `max_gap` comes from, as records and `check-config` name it.
    public static let defaultMaxGapSource = "default: 3 × every + delay"

    /// The data gap a lot's channel tolerates when no `max_gap` is configured: three missed polls
    /// past the limit's delay (the longer of its bounds' delays), so that a dead device is
    /// noticed within about the time an excursion would have been.
    public static func defaultMaxGap(every: Duration, limits: ChannelLimits) -> Duration {
        let delay = [limits.low?.delay, limits.high?.delay].compactMap { $0 }.max() ?? .zero
        return every * 3 + delay
    }

    public init(config: Config, device: Device, channel: String, lots exposure: [LotSpec]) {
        equipment = device.limits[channel]
        let deviceSpec = device.spec.flatMap { config.specs[$0]?.limits[channel] }
        self.device = ChannelLimits.tightest([equipment, deviceSpec].compactMap { $0 })
        lotsInside = exposure.map(\.lot)
        lots = exposure.compactMap { lot in
            config.specs[lot.spec]?.limits[channel].map { (lot.lot, $0) }
        }
        self.exposure = ChannelLimits.tightest([equipment].compactMap { $0 } + lots.map(\.limits))
        shown = ChannelLimits.tightest([self.device].compactMap { $0 } + lots.map(\.limits))
        var gaps: [(Duration, String)] = []
        if let gap = equipment?.maxGap { gaps.append((gap, "equipment")) }
        for (lot, limits) in lots {
            if let gap = limits.maxGap {
                let spec = exposure.first { $0.lot == lot }?.spec ?? "?"
                gaps.append((gap, "spec \(spec)"))
            }
        }
        if let configured = gaps.min(by: { $0.0 < $1.0 }) {
            maxGap = configured
        } else if !exposure.isEmpty, let limits = self.exposure {
            maxGap = (Self.defaultMaxGap(every: device.every, limits: limits), Self.defaultMaxGapSource)
        } else {
            maxGap = nil
        }
    }

    /// The lots whose own spec `value` breaks; every lot inside when it breaks the equipment limits.
    func lotsBroken(by value: Double) -> Set<String> {
        if let equipment, equipment.violation(by: value) != nil { return Set(lotsInside) }
        return Set(lots.filter { $0.limits.violation(by: value) != nil }.map(\.lot))
    }
}
