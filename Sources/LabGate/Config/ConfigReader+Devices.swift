import Yams

extension ConfigReader {
    static let deviceKeys = [
        "id", "kind", "bus", "unit", "profile", "every", "spec", "limits", "timeout", "retries", "unreachable_after",
        "busy_retries", "busy_wait", "pause_after_connect", "min_gap", "max_registers", "max_fill",
        "one_request_per_field", "backoff",
    ]
    static let backoffKeys = ["initial", "max"]
    static let requiredDeviceKeys = ["id", "kind", "bus", "unit", "profile", "every"]

    /// The `devices:` list. Read after buses, profiles and specs, which devices refer to.
    mutating func readDevices(_ node: Node) -> [Device] {
        guard let items = items(of: node, for: "devices", in: "") else { return [] }
        return items.enumerated().compactMap { index, item in readDevice(item, index: index) }
    }

    private mutating func readDevice(_ node: Node, index: Int) -> Device? {
        let name = Self.peekName(node, key: "id")
        let context = name.map { "device \($0)" } ?? "device #\(index + 1)"
        guard let map = entries(
            of: node, keys: Self.deviceKeys, required: Self.requiredDeviceKeys, for: "a device", in: context)
        else { return nil }
        let errorsBefore = errors.count

        let id = string("id", of: map)
        if let id, let idNode = map["id"] {
            if let first = deviceIDs[id] {
                report("duplicate device id '\(id)' (first at line \(first.line))", at: idNode, in: "")
            } else {
                deviceIDs[id] = location(of: idNode)
            }
        }
        let kind: DeviceKind? = choice("kind", of: map)
        let bus = string("bus", of: map)
        if let bus, let busNode = map["bus"], buses[bus] == nil {
            report("unknown bus '\(bus)' (\(Self.known("buses", buses.keys)))", at: busNode, in: context)
        }
        let unit = map["unit"].flatMap { readUnit($0, bus: bus, device: id ?? context, in: context) }

        let profile = string("profile", of: map)
        var channels: Set<String>?
        if let profile, let profileNode = map["profile"] {
            if let known = profileChannels[profile] {
                channels = known
            } else {
                let known = Self.known("profiles", profileChannels.keys)
                report("unknown profile '\(profile)' (\(known))", at: profileNode, in: context)
            }
        }
        let every = duration("every", of: map, minimum: .milliseconds(100))
        let spec = string("spec", of: map)
        if let spec, let specNode = map["spec"] {
            checkSpec(spec, at: specNode, profile: profile, channels: channels, in: context)
        }
        let limits = map["limits"].flatMap { readEquipmentLimits($0, profile: profile, channels: channels, in: context) }
        let timeout = duration("timeout", of: map, minimum: .milliseconds(10), maximum: .seconds(60))
        let retries = integer("retries", of: map, range: 0...10)
        let unreachableAfter = integer("unreachable_after", of: map, range: 1...1000)
        let busyRetries = integer("busy_retries", of: map, range: 0...20)
        let busyWait = duration("busy_wait", of: map, maximum: .seconds(60))
        let pauseAfterConnect = duration("pause_after_connect", of: map, maximum: .seconds(60))
        let minGap = duration("min_gap", of: map, maximum: .seconds(10))
        let maxRegisters = integer("max_registers", of: map, range: 1...RequestPlanner.maxRegisters)
        if let maxRegisters, let profile, let node = map["max_registers"] {
            checkMaxRegisters(maxRegisters, profile: profile, at: node, in: context)
        }
        let maxFill = integer("max_fill", of: map, range: 0...(RequestPlanner.maxRegisters - 2))
        let onePerField = boolean("one_request_per_field", of: map)
        let backoff = map["backoff"].flatMap { readBackoff($0, every: every, in: context) }

        guard errors.count == errorsBefore, let id, let kind, let bus, let unit, let profile, let every else {
            return nil
        }
        let defaults = Device.Defaults.self
        return Device(
            id: id, kind: kind, bus: bus, unit: unit, profile: profile, every: every, spec: spec,
            limits: limits ?? [:], timeout: timeout ?? defaults.timeout, retries: retries ?? defaults.retries,
            unreachableAfter: unreachableAfter ?? defaults.unreachableAfter,
            busyRetries: busyRetries ?? defaults.busyRetries, busyWait: busyWait ?? defaults.busyWait,
            pauseAfterConnect: pauseAfterConnect ?? .zero, minGap: minGap ?? .zero,
            maxRegisters: maxRegisters ?? defaults.maxRegisters, maxFill: maxFill ?? defaults.maxFill,
            onePerField: onePerField ?? false, backoff: backoff, location: location(of: node))
    }

    /// `backoff: { initial: 10s, max: 5m }`: either may be left out (initial defaults to the poll
    /// period, max to 5 minutes or the initial, whichever is longer); max may not be below initial.
    private mutating func readBackoff(_ node: Node, every: Duration?, in context: String) -> BackoffPolicy? {
        let backoffContext = "\(context), backoff"
        guard let map = entries(of: node, keys: Self.backoffKeys, required: [], for: "backoff", in: backoffContext)
        else { return nil }
        let initial = duration("initial", of: map, maximum: .seconds(86400))
        let maximum = duration("max", of: map, minimum: .milliseconds(100), maximum: .seconds(86400))
        guard let every else { return nil }
        let base = BackoffPolicy(every: every)
        let policy = BackoffPolicy(
            initial: initial ?? base.initial,
            maximum: maximum ?? max(Device.Defaults.backoffMaximum, initial ?? base.initial))
        if policy.maximum < policy.initial {
            let at = map["max"] ?? map["initial"] ?? node
            let text = "max \(DurationText.format(policy.maximum)) is below initial \(DurationText.format(policy.initial))"
            report(text, at: at, in: backoffContext)
            return nil
        }
        return policy
    }

    /// A field must fit in one request: `max_registers` of 1 cannot read a 32-bit value.
    private mutating func checkMaxRegisters(_ maxRegisters: Int, profile: String, at node: Node, in context: String) {
        guard let widest = profileWidths[profile], widest.width > maxRegisters else { return }
        report(
            "max_registers \(maxRegisters) is less than the \(widest.width) registers of \(widest.channel) in profile \(profile)",
            at: node, in: context)
    }

    /// `true` or `false` (YAML's other spellings of booleans are refused, to keep files plain).
    mutating func boolean(_ node: Node, _ name: String, in context: String) -> Bool? {
        switch node.plainText {
        case "true": return true
        case "false": return false
        default:
            report("expected true or false for \(name), got \(node.described)", at: node, in: context)
            return nil
        }
    }

    mutating func boolean(_ key: String, of entries: Entries) -> Bool? {
        entries[key].flatMap { boolean($0, key, in: entries.context) }
    }

    /// A Modbus unit id, unique on its bus. 0...247 are the ids a serial line knows; 255 is how
    /// Modbus TCP addresses the gateway itself. On an rtu bus only 1...247 (0 is broadcast, which
    /// never answers).
    private mutating func readUnit(_ node: Node, bus: String?, device: String, in context: String) -> Int? {
        guard let unit = integer(node, "unit", in: context, range: nil) else { return nil }
        guard (0...247).contains(unit) || unit == 255 else {
            report("unit \(unit) out of range 0..247 (or 255 on tcp)", at: node, in: context)
            return nil
        }
        if let bus, case .rtu? = buses[bus]?.transport, !(1...247).contains(unit) {
            report("unit \(unit) out of range 1..247 on rtu bus \(bus)", at: node, in: context)
            return nil
        }
        guard let bus, buses[bus] != nil else { return unit }
        if let first = unitsInUse[bus]?[unit] {
            let message = "unit \(unit) on bus \(bus) is already used by device \(first.device) (line \(first.line))"
            report(message, at: node, in: context)
            return nil
        }
        unitsInUse[bus, default: [:]][unit] = (device, location(of: node).line)
        return unit
    }

    /// The device's spec must exist and set limits only for channels the device's profile has.
    private mutating func checkSpec(
        _ spec: String, at node: Node, profile: String?, channels: Set<String>?, in context: String
    ) {
        guard let specChannels = specChannels[spec] else {
            report("unknown spec '\(spec)' (\(Self.known("specs", self.specChannels.keys)))", at: node, in: context)
            return
        }
        guard let specChannels, let profile, let channels else { return }
        for channel in specChannels where !channels.contains(channel) {
            report(
                "spec \(spec) sets limits for \(channel), but profile \(profile) has no channel \(channel)",
                at: node, in: context)
        }
    }

    /// `limits:` of a device: channel -> limits, each channel one of the profile's.
    private mutating func readEquipmentLimits(
        _ node: Node, profile: String?, channels: Set<String>?, in context: String
    ) -> [String: ChannelLimits]? {
        guard let named = namedEntries(of: node, for: "limits (channel: limits)", in: context) else { return nil }
        var limits: [String: ChannelLimits] = [:]
        for entry in named {
            if let profile, let channels, !channels.contains(entry.key) {
                report(
                    "limits for \(entry.key), but profile \(profile) has no channel \(entry.key)",
                    at: entry.keyNode, in: context)
            }
            limits[entry.key] = readLimits(entry.value, in: "\(context), \(entry.key)", source: "equipment")
        }
        return limits
    }

    /// "known buses: lan, sim" or "no buses defined", for messages about unknown names.
    static func known(_ kind: String, _ names: some Sequence<String>) -> String {
        let names = names.sorted()
        return names.isEmpty ? "no \(kind) defined" : "known \(kind): \(names.joined(separator: ", "))"
    }
}
