import LabGate
import Modbus

/// A one-screen overview of a loaded config, for `labgate check-config` and the daemon's start-up log.
public enum ConfigSummary {
    public static func render(_ config: Config) -> String {
        var lines = [
            "site    \(config.site)  (from \(config.file))",
            "store   \(config.store)",
            "alerts  \(config.alerts)",
        ]
        if let http = config.http {
            let reach = http.isLoopback ? "this host only" : "REACHABLE FROM THE NETWORK, no authentication"
            lines.append("http    http://\(http.endpoint)/  (\(reach))")
        }
        lines += ["", "buses"]
        let busWidth = config.buses.map(\.id.count).max() ?? 0
        for bus in config.buses {
            let count = config.devices(on: bus.id).count
            let devices = count == 1 ? "1 device" : "\(count) devices"
            lines.append("  \(pad(bus.id, busWidth))  \(describe(bus.transport))  (\(devices))")
        }

        lines += ["", "devices"]
        if config.devices.isEmpty { lines.append("  (none)") }
        let idWidth = config.devices.map(\.id.count).max() ?? 0
        let kindWidth = config.devices.map(\.kind.rawValue.count).max() ?? 0
        for device in config.devices {
            var line = "  \(pad(device.id, idWidth))  \(pad(device.kind.rawValue, kindWidth))"
            line += "  bus \(device.bus)  unit \(device.unit)  profile \(device.profile)"
            line += "  every \(DurationText.format(device.every))"
            if let spec = device.spec { line += "  spec \(spec)" }
            lines.append(line)
            let channels = config.profile(of: device).fields.map { field in
                field.unit.isEmpty ? field.channel : "\(field.channel) (\(field.unit))"
            }
            let indent = String(repeating: " ", count: idWidth + 4)
            lines.append("\(indent)channels: \(channels.joined(separator: ", "))")
            let requests = RequestPlanner.plan(config.profile(of: device), options: device.planOptions)
            var reads = "reads: " + requests.map(\.description).joined(separator: ", ")
            let quirks = self.quirks(of: device)
            if !quirks.isEmpty { reads += "; " + quirks.joined(separator: ", ") }
            lines.append("\(indent)\(reads)")
            if let gaps = maxGaps(of: device, in: config) { lines.append("\(indent)\(gaps)") }
        }

        let channelCount = config.devices.reduce(0) { $0 + config.profile(of: $1).fields.count }
        let pollsPerSecond = config.devices.reduce(0.0) { $0 + 1 / $1.every.seconds }
        lines += ["", "\(channelCount) channels, \(format(pollsPerSecond)) polls per second"]
        if let notify = config.notify { lines += [""] + NotifySummary.lines(notify) }
        return lines.joined(separator: "\n")
    }

    /// The data gap that opens a deviation on each channel while a lot is inside, for each spec a
    /// lot can carry in `device` (one whose channels it measures): configured or the default.
    /// Nil when no spec fits the device.
    static func maxGaps(of device: Device, in config: Config) -> String? {
        let channels = config.profile(of: device).fields.map(\.channel)
        var parts: [String] = []
        for (name, spec) in config.specs.sorted(by: { $0.key < $1.key }) where spec.limits.keys.allSatisfy(channels.contains) {
            let gaps = channels.compactMap { channel -> String? in
                let inForce = LimitsInForce(config: config, device: device, channel: channel, lots: [LotSpec(lot: "-", spec: name)])
                guard let gap = inForce.maxGap else { return nil }
                let source = gap.source == LimitsInForce.defaultMaxGapSource ? "default"
                    : gap.source == "equipment" ? "equipment" : "spec"
                return "\(channel) \(DurationText.format(gap.value)) (\(source))"
            }
            if !gaps.isEmpty { parts.append("\(name): " + gaps.joined(separator: ", ")) }
        }
        return parts.isEmpty ? nil : "max_gap with a lot inside: " + parts.joined(separator: "; ")
    }

    /// The per-device settings that differ from their defaults, as written in the config.
    private static func quirks(of device: Device) -> [String] {
        let defaults = Device.Defaults.self
        var quirks: [String] = []
        if device.busyRetries != defaults.busyRetries { quirks.append("busy_retries \(device.busyRetries)") }
        if device.busyWait != defaults.busyWait { quirks.append("busy_wait \(DurationText.format(device.busyWait))") }
        if device.pauseAfterConnect != .zero {
            quirks.append("pause_after_connect \(DurationText.format(device.pauseAfterConnect))")
        }
        if device.minGap != .zero { quirks.append("min_gap \(DurationText.format(device.minGap))") }
        if device.maxRegisters != defaults.maxRegisters { quirks.append("max_registers \(device.maxRegisters)") }
        if device.maxFill != defaults.maxFill { quirks.append("max_fill \(device.maxFill)") }
        if device.onePerField { quirks.append("one_request_per_field") }
        if device.backoff != BackoffPolicy(every: device.every) {
            quirks.append(
                "backoff \(DurationText.format(device.backoff.initial))..\(DurationText.format(device.backoff.maximum))")
        }
        return quirks
    }

    private static func describe(_ transport: ModbusTransport) -> String {
        switch transport {
        case .tcp(let host, let port): "tcp \(host):\(port)"
        case .rtu(let settings): "rtu \(settings.port) \(settings.baud) \(settings.format)"
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    /// At most two decimals, none for a whole number: "2", "0.55".
    private static func format(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        if hundredths.truncatingRemainder(dividingBy: 100) == 0 { return "\(Int(hundredths / 100))" }
        return "\(hundredths / 100)"
    }
}
