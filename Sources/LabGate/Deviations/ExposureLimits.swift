/// The limits in force on one device channel for the lots inside it at one moment: the tightest
/// of their specs and the device's equipment limits, and which lots each reading breaks.
package struct ExposureLimits {
    var equipment: ChannelLimits?
    var lots: [(lot: String, limits: ChannelLimits)]
    var effective: ChannelLimits?
    /// The shortest `max_gap` in force and where it was configured.
    var maxGap: (value: Duration, source: String)?

    init(config: Config, device: Device, channel: String, exposure: [LotSpec]) {
        equipment = device.limits[channel]
        lotsInside = exposure.map(\.lot)
        lots = exposure.compactMap { lot in
            config.specs[lot.spec]?.limits[channel].map { (lot.lot, $0) }
        }
        effective = ChannelLimits.tightest([equipment].compactMap { $0 } + lots.map(\.limits))
        var gaps: [(Duration, String)] = []
        if let gap = equipment?.maxGap { gaps.append((gap, "equipment")) }
        for (lot, limits) in lots {
            if let gap = limits.maxGap {
                let spec = exposure.first { $0.lot == lot }?.spec ?? "?"
                gaps.append((gap, "spec \(spec)"))
            }
        }
        maxGap = gaps.min { $0.0 < $1.0 }
    }

    enum Side: String, Codable, Sendable { case low, high }

    package struct Violation {
        var side: Side
        var bound: ChannelLimits.Bound
        var critical: Bool
        /// The limit as reported: low/high, or critical_low/critical_high when that was passed.
        package var limit: AlertEvent.Limit
    }

    /// How `value` breaks `limits`, critical limits first.
    package static func violation(_ value: Double, _ limits: ChannelLimits) -> Violation? {
        if let critical = limits.criticalLow, value < critical {
            let bound = limits.low ?? .init(value: critical, delay: .zero, source: "critical limit")
            return Violation(
                side: .low, bound: bound, critical: true,
                limit: .init(name: "critical_low", value: critical, source: bound.source))
        }
        if let critical = limits.criticalHigh, value > critical {
            let bound = limits.high ?? .init(value: critical, delay: .zero, source: "critical limit")
            return Violation(
                side: .high, bound: bound, critical: true,
                limit: .init(name: "critical_high", value: critical, source: bound.source))
        }
        if let low = limits.low, value < low.value {
            return Violation(side: .low, bound: low, critical: false, limit: .init(name: "low", value: low.value, source: low.source))
        }
        if let high = limits.high, value > high.value {
            return Violation(
                side: .high, bound: high, critical: false, limit: .init(name: "high", value: high.value, source: high.source))
        }
        return nil
    }

    /// The lots whose own spec `value` breaks; every lot inside when the equipment limits are broken.
    func lotsBroken(by value: Double) -> Set<String> {
        if let equipment, Self.violation(value, equipment) != nil { return Set(lotsInside) }
        return Set(lots.filter { Self.violation(value, $0.limits) != nil }.map(\.lot))
    }

    var lotsInside: [String]

    /// The bound in force on `side`, if any.
    func bound(_ side: Side) -> ChannelLimits.Bound? {
        side == .low ? effective?.low : effective?.high
    }
}
