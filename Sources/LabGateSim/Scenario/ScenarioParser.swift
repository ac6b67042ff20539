import LabGate
import Yams

/// Reads a scenario from YAML nodes so that every problem points at its line and column.
struct ScenarioParser {
    let file: String
    let config: Config

    static let eventKeys = ["at", "device", "event", "for", "channel", "code", "every", "by"]

    func parse(yaml: String) throws(ScenarioError) -> Scenario {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw yamlError(error)
        }
        guard let root else { return Scenario() }
        guard let mapping = root.mapping else {
            throw ScenarioError(at: location(root), "a scenario is a mapping with the key 'events'")
        }
        var eventsNode: Node?
        var modulesNode: Node?
        for (key, value) in mapping {
            let name = try keyName(key)
            switch name {
            case "events": eventsNode = value
            case "io_modules": modulesNode = value
            default: throw ScenarioError(at: location(key), "unknown key '\(name)' (expected events, io_modules)")
            }
        }
        guard let eventsNode else {
            throw ScenarioError(at: location(root), "missing key 'events'")
        }
        let watchdogs = try modulesNode.map { node throws(ScenarioError) in try ioModules(node) } ?? [:]
        if let scalar = eventsNode.scalar, ["", "~", "null"].contains(scalar.string) {
            return Scenario(watchdogs: watchdogs)
        }
        guard let sequence = eventsNode.sequence else {
            throw ScenarioError(at: location(eventsNode), "'events' is a list of events")
        }
        var events: [ScenarioEvent] = []
        for node in sequence {
            events.append(try event(node))
        }
        return Scenario(events: events, watchdogs: watchdogs)
    }

    static let moduleKeys = ["device", "watchdog"]

    /// `io_modules:` a list of `{ device, watchdog }`: each names a device of kind io_module and
    /// its communication watchdog time (0: none).
    private func ioModules(_ node: Node) throws(ScenarioError) -> [String: Duration?] {
        guard let sequence = node.sequence else {
            throw ScenarioError(at: location(node), "'io_modules' is a list of { device, watchdog }")
        }
        var watchdogs: [String: Duration?] = [:]
        for item in sequence {
            guard let mapping = item.mapping else {
                throw ScenarioError(at: location(item), "an I/O module is a mapping with device and watchdog")
            }
            var values: [String: Node] = [:]
            for (key, value) in mapping {
                let name = try keyName(key)
                guard Self.moduleKeys.contains(name) else {
                    throw ScenarioError(at: location(key), "unknown key '\(name)' (expected \(Self.moduleKeys.joined(separator: ", ")))")
                }
                values[name] = value
            }
            guard let deviceNode = values["device"] else { throw ScenarioError(at: location(item), "missing key 'device'") }
            let id = try scalar(deviceNode, key: "device")
            guard let device = config.device(id) else {
                let known = config.devices.map(\.id).joined(separator: ", ")
                throw ScenarioError(at: location(deviceNode), "unknown device '\(id)' (devices: \(known))")
            }
            guard device.kind == .ioModule else {
                throw ScenarioError(
                    at: location(deviceNode), "\(id) is not an io_module (kind \(device.kind.rawValue)): it has no outputs to watch")
            }
            guard !watchdogs.keys.contains(id) else { throw ScenarioError(at: location(deviceNode), "\(id) is already listed") }
            guard let watchdogNode = values["watchdog"] else {
                throw ScenarioError(at: location(item), "missing key 'watchdog' (e.g. watchdog: 5s, or 0 for none)")
            }
            let watchdog = try duration(watchdogNode, key: "watchdog")
            watchdogs[id] = .some(watchdog > .zero ? watchdog : nil)
        }
        return watchdogs
    }

    private func event(_ node: Node) throws(ScenarioError) -> ScenarioEvent {
        guard let mapping = node.mapping else {
            throw ScenarioError(at: location(node), "an event is a mapping with at, device, event (and for, channel, code, every)")
        }
        var values: [String: Node] = [:]
        var keys: [String: Node] = [:]
        for (key, value) in mapping {
            let name = try keyName(key)
            guard Self.eventKeys.contains(name) else {
                throw ScenarioError(at: location(key), "unknown key '\(name)' (expected \(Self.eventKeys.joined(separator: ", ")))")
            }
            values[name] = value
            keys[name] = key
        }
        func required(_ key: String, _ why: String = "") throws(ScenarioError) -> Node {
            guard let value = values[key] else {
                throw ScenarioError(at: location(node), "missing key '\(key)'\(why)")
            }
            return value
        }

        let atNode = try required("at")
        let at = try duration(atNode, key: "at")
        let deviceNode = try required("device")
        let deviceID = try scalar(deviceNode, key: "device")
        guard let device = config.device(deviceID) else {
            let known = config.devices.map(\.id).joined(separator: ", ")
            throw ScenarioError(at: location(deviceNode), "unknown device '\(deviceID)' (devices: \(known))")
        }
        let eventNode = try required("event")
        let name = try scalar(eventNode, key: "event")
        guard ScenarioEvent.Kind.names.contains(name) else {
            throw ScenarioError(
                at: location(eventNode),
                "unknown event '\(name)' (expected \(ScenarioEvent.Kind.names.joined(separator: ", ")))")
        }
        if let kinds = ScenarioEvent.Kind.kinds(for: name), !kinds.contains(device.kind) {
            throw ScenarioError(
                at: location(eventNode),
                "event '\(name)' does not apply to \(device.id), a \(device.kind.rawValue) (only to \(kinds.map(\.rawValue).joined(separator: ", ")))")
        }

        if ScenarioEvent.Kind.serialOnly.contains(name), case .tcp? = config.bus(device.bus)?.transport {
            throw ScenarioError(
                at: location(eventNode),
                "event '\(name)' needs a serial line, but \(device.id) is on tcp bus \(device.bus) (only rtu buses)")
        }
        for (key, owner) in [("channel", "sensor_fault"), ("code", "exception"), ("every", "exception"), ("by", "slow")] {
            if let keyNode = keys[key], name != owner {
                throw ScenarioError(at: location(keyNode), "key '\(key)' applies only to event \(owner)")
            }
        }
        let kind: ScenarioEvent.Kind
        switch name {
        case "door_open": kind = .doorOpen
        case "co2_supply_empty": kind = .co2SupplyEmpty
        case "compressor_failure": kind = .compressorFailure
        case "fill_missed": kind = .fillMissed
        case "silent": kind = .silent
        case "slow":
            let byNode = try required("by", " (slow needs how much later the device answers, e.g. by: 300ms)")
            let by = try duration(byNode, key: "by")
            guard by > .zero else { throw ScenarioError(at: location(byNode), "'by' must be longer than zero") }
            kind = .slow(by: by)
        case "crc_error": kind = .crcError
        case "truncated": kind = .truncated
        case "wrong_unit": kind = .wrongUnit
        case "port_vanish": kind = .portVanish
        case "sensor_fault":
            let channelNode = try required("channel", " (sensor_fault needs the channel that fails)")
            let channel = try scalar(channelNode, key: "channel")
            let profile = config.profile(of: device)
            guard profile.field(channel) != nil else {
                let known = profile.fields.map(\.channel).joined(separator: ", ")
                throw ScenarioError(
                    at: location(channelNode),
                    "unknown channel '\(channel)' for \(device.id) (profile \(profile.name) has: \(known))")
            }
            kind = .sensorFault(channel: channel)
        default:
            let codeNode = try required("code", " (exception needs the Modbus exception code to answer with)")
            let text = try scalar(codeNode, key: "code")
            guard let code = Self.exceptionCode(text) else {
                throw ScenarioError(at: location(codeNode), "bad exception code '\(text)' (expected 1 to 255, e.g. 4 or 0x0B)")
            }
            kind = .exception(code: code)
        }

        var length: Duration?
        if let forNode = values["for"] {
            let value = try duration(forNode, key: "for")
            guard value > .zero else {
                throw ScenarioError(at: location(forNode), "'for' must be longer than zero")
            }
            length = value
        }
        var every: Int?
        if let everyNode = values["every"] {
            let text = try scalar(everyNode, key: "every")
            guard let value = Int(text), (1...1000).contains(value) else {
                throw ScenarioError(at: location(everyNode), "bad 'every' '\(text)' (expected a whole number of requests, 1 to 1000)")
            }
            every = value
        }
        return ScenarioEvent(
            at: at, device: device.id, kind: kind, duration: length, every: every, location: location(node))
    }

    private static func exceptionCode(_ text: String) -> UInt8? {
        let value = text.lowercased().hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
        guard let value, (1...255).contains(value) else { return nil }
        return UInt8(value)
    }

    private func duration(_ node: Node, key: String) throws(ScenarioError) -> Duration {
        let text = try scalar(node, key: key)
        if text.trimmingCharacters(in: .whitespaces) == "0" { return .zero }
        guard let value = DurationText.parse(text) else {
            throw ScenarioError(at: location(node), "bad duration '\(text)' for '\(key)' (e.g. 30s, 2m, 1h30m)")
        }
        return value
    }

    private func scalar(_ node: Node, key: String) throws(ScenarioError) -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else {
            throw ScenarioError(at: location(node), "'\(key)' needs a single value")
        }
        return scalar.string
    }

    private func keyName(_ key: Node) throws(ScenarioError) -> String {
        guard let scalar = key.scalar else {
            throw ScenarioError(at: location(key), "a key must be a plain name")
        }
        return scalar.string
    }

    private func location(_ node: Node) -> SourceLocation {
        location(node.mark)
    }

    private func location(_ mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private func yamlError(_ error: any Error) -> ScenarioError {
        guard let error = error as? YamlError else {
            return ScenarioError(file: file, location: nil, message: "\(error)")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            let detail = context.map { " (\($0.text))" } ?? ""
            return ScenarioError(at: location(mark), "invalid YAML: \(problem)\(detail)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return ScenarioError(at: location(context.mark), "duplicate key '\(duplicates.joined(separator: "', '"))'")
        case let .reader(problem, _, _, _):
            return ScenarioError(file: file, location: nil, message: "unreadable YAML: \(problem)")
        default:
            return ScenarioError(file: file, location: nil, message: "invalid YAML: \(error)")
        }
    }
}
