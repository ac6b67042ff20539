import Yams

extension ConfigReader {
    /// In the order they must hold: critical_low <= low <= high <= critical_high.
    static let limitValueKeys = ["critical_low", "low", "high", "critical_high"]
    static let limitKeys = ["low", "high", "critical_low", "critical_high", "delay", "deadband", "hold", "max_gap"]

    /// The `specs:` mapping, name -> channel -> limits.
    mutating func readSpecs(_ node: Node) -> [String: Spec] {
        guard let named = namedEntries(of: node, for: "specs", in: "") else { return [:] }
        var specs: [String: Spec] = [:]
        for entry in named {
            let context = "spec \(entry.key)"
            guard let channels = namedEntries(of: entry.value, for: "a spec (channel: limits)", in: context) else {
                specChannels.updateValue(nil, forKey: entry.key)
                continue
            }
            specChannels.updateValue(channels.map(\.key), forKey: entry.key)
            if channels.isEmpty {
                report("no channels defined", at: entry.value, in: context)
            }
            var limits: [String: ChannelLimits] = [:]
            for channel in channels {
                limits[channel.key] = readLimits(channel.value, in: "\(context), \(channel.key)", source: context)
            }
            specs[entry.key] = Spec(name: entry.key, limits: limits)
        }
        return specs
    }

    /// One channel's limits; `source` names where its bounds come from ("spec NAME", "equipment").
    mutating func readLimits(_ node: Node, in context: String, source: String) -> ChannelLimits? {
        guard let map = entries(of: node, keys: Self.limitKeys, required: [], for: "limits", in: context) else {
            return nil
        }
        let errorsBefore = errors.count
        var values: [(key: String, value: Double, node: Node)] = []
        for key in Self.limitValueKeys {
            if let node = map[key], let value = number(node, key, in: context) {
                values.append((key, value, node))
            }
        }
        let delay = duration("delay", of: map)
        let deadband = number("deadband", of: map)
        if let deadband, let node = map["deadband"], deadband < 0 {
            report("deadband \(node.plainText ?? "\(deadband)") must not be negative", at: node, in: context)
        }
        let hold = duration("hold", of: map)
        let maxGap = duration("max_gap", of: map, minimum: .seconds(1))
        if !Self.limitValueKeys.contains(where: { map[$0] != nil }) {
            report("no limit set (use low, high, critical_low or critical_high)", at: node, in: context)
        }
        if let deadband, let node = map["deadband"], let low = values.first(where: { $0.key == "low" }),
            let high = values.first(where: { $0.key == "high" }), deadband * 2 >= high.value - low.value
        {
            report("deadband \(node.plainText ?? "\(deadband)") leaves no room between low and high", at: node, in: context)
        }
        for (lower, upper) in zip(values, values.dropFirst()) where lower.value > upper.value {
            let lowerText = "\(lower.key) \(lower.node.plainText ?? "\(lower.value)")"
            let upperText = "\(upper.key) \(upper.node.plainText ?? "\(upper.value)")"
            if upper.key == "critical_high" {
                report("\(upperText) is below \(lowerText)", at: upper.node, in: context)
            } else {
                report("\(lowerText) is above \(upperText)", at: lower.node, in: context)
            }
        }
        guard errors.count == errorsBefore else { return nil }

        func value(_ key: String) -> Double? { values.first { $0.key == key }?.value }
        return ChannelLimits(
            low: value("low"), high: value("high"), delay: delay ?? .zero, criticalLow: value("critical_low"),
            criticalHigh: value("critical_high"), source: source, deadband: deadband ?? 0, hold: hold ?? .zero,
            maxGap: maxGap)
    }
}
