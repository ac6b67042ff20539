import Modbus
import Yams

/// Turns a composed YAML tree into a `Config`, collecting every problem on the way instead of
/// stopping at the first, so that one run of `check-config` shows an admin everything to fix.
///
/// Each section is read in its own extension (buses, devices, profiles, limits); this file holds
/// the shared state and the mapping checks every section uses.
struct ConfigReader {
    /// The file being read: the config, or while reading `profile_files` one of those.
    var file: String
    private(set) var errors: [ConfigError] = []
    /// Reads a file named in the config (profile files); the loader passes the file system.
    var readFile: (String) -> Result<String, ConfigLoader.ReadProblem> = ConfigLoader.readText(path:)

    /// Bus ids seen so far, where each was first defined, and its transport when that was valid.
    var buses: [String: (location: SourceLocation, transport: ModbusTransport?)] = [:]
    /// Profile names with their channel names (nil when the profile is not a readable mapping).
    var profileChannels: [String: Set<String>?] = [:]
    /// Where each profile was defined (profiles may come from several files).
    var profileOrigins: [String: SourceLocation] = [:]
    /// Per profile, its widest field: a device's `max_registers` must hold it.
    var profileWidths: [String: (channel: String, width: Int)] = [:]
    /// Spec names with the channels they set limits for, in file order (nil when not a readable
    /// mapping).
    var specChannels: [String: [String]?] = [:]
    /// Device ids seen so far and where each was first defined.
    var deviceIDs: [String: SourceLocation] = [:]
    /// Per bus, the units in use and the device (and line) that took each first.
    var unitsInUse: [String: [Int: (device: String, line: Int)]] = [:]

    init(file: String) {
        self.file = file
    }

    func location(of node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Records a problem at `node`; `context` names the thing it belongs to, e.g. "device INC-01".
    mutating func report(_ message: String, at node: Node, in context: String) {
        report(message, at: location(of: node), in: context)
    }

    mutating func report(_ message: String, at location: SourceLocation, in context: String) {
        let text = context.isEmpty ? message : "\(context): \(message)"
        errors.append(ConfigError(location: location, message: text))
    }

    /// Records a problem found elsewhere (a profile file's YAML syntax).
    mutating func append(_ error: ConfigError) {
        errors.append(error)
    }
}

extension ConfigReader {
    static let topKeys = [
        "site", "store", "alerts", "buses", "devices", "profiles", "profile_files", "specs", "control", "roles",
        "store_buffer", "http", "notify", "anchors", "anchor_interval", "signatures", "gateway", "site_store",
        "archive_after",
    ]
    /// `profiles` may be left out when `profile_files` is given.
    static let requiredTopKeys = ["site", "store", "alerts", "buses", "devices", "profiles"]

    /// The whole file; nil when anything was reported (see `errors`).
    mutating func read(_ root: Node) -> Config? {
        let hasProfileFiles = root.mapping?["profile_files"] != nil
        let required = hasProfileFiles ? Self.requiredTopKeys.filter { $0 != "profiles" } : Self.requiredTopKeys
        guard let top = entries(of: root, keys: Self.topKeys, required: required, for: "the config", in: "")
        else { return nil }
        let site = string("site", of: top)
        let store = string("store", of: top)
        let alerts = string("alerts", of: top)
        // Devices refer to buses, profiles and specs: read those first, whatever the file order.
        let buses = top["buses"].map { readBuses($0) } ?? []
        var profiles = top["profiles"].map { readProfiles($0) } ?? [:]
        if let files = top["profile_files"] {
            profiles.merge(readProfileFiles(files)) { inline, _ in inline }
        }
        let specs = top["specs"].map { readSpecs($0) } ?? [:]
        let devices = top["devices"].map { readDevices($0) } ?? []
        let control = readControl(top)
        let roles = top["roles"].map { readRoles($0) } ?? Roles()
        let storeBuffer = top["store_buffer"] == nil
            ? Config.defaultStoreBuffer : integer("store_buffer", of: top, range: 10...50_000_000)
        let http = top["http"].flatMap { readHTTP($0) }
        let notify = top["notify"].flatMap { readNotify($0, devices: devices, profiles: profiles) }
        let anchors = readAnchors(top)
        let signatures = readSignatures(top)
        let siteStore = readSiteStore(top)
        let archiveAfter = duration("archive_after", of: top)
        guard errors.isEmpty, let site, let store, let alerts, let storeBuffer, let anchors else { return nil }
        var config = Config(
            file: file, site: site, store: store, alerts: alerts, buses: buses, devices: devices,
            profiles: profiles, specs: specs, control: control, roles: roles, storeBuffer: storeBuffer, http: http,
            notify: notify)
        config.anchors = anchors.file
        config.anchorInterval = anchors.interval
        config.signatures = signatures
        config.gateway = siteStore.gateway
        config.siteStore = siteStore.settings
        config.archiveAfter = archiveAfter
        return config
    }
}

/// The entries of one mapping whose keys passed the check, in file order.
struct Entries {
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    var node: Node
    /// Names the thing this mapping describes in messages, e.g. "device INC-01" ("" at the top).
    var context: String
    var entries: [Entry]

    subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }
}

extension ConfigReader {
    /// The entries of a mapping with a fixed set of keys: reports a node that is not a mapping, each
    /// unknown key and each missing required key. An optional key with an empty value counts as
    /// absent.
    mutating func entries(
        of node: Node, keys: [String], required: [String], for what: String, in context: String
    ) -> Entries? {
        guard let all = namedEntries(of: node, for: what, in: context) else { return nil }
        var kept: [Entries.Entry] = []
        for entry in all {
            if !keys.contains(entry.key) {
                let expected = keys.joined(separator: ", ")
                report("unknown key '\(entry.key)' (expected one of: \(expected))", at: entry.keyNode, in: context)
            } else if required.contains(entry.key) || !entry.value.isNull {
                kept.append(entry)
            }
        }
        for key in required where !all.contains(where: { $0.key == key }) {
            report("missing key '\(key)'", at: node, in: context)
        }
        return Entries(node: node, context: context, entries: kept)
    }

    /// The entries of a mapping whose keys are names the file chooses (profiles, channels, specs).
    mutating func namedEntries(of node: Node, for what: String, in context: String) -> [Entries.Entry]? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping for \(what), got \(node.described)", at: node, in: context)
            return nil
        }
        var result: [Entries.Entry] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !key.isNull, !scalar.string.isEmpty else {
                report("expected a name as key, got \(key.described)", at: key, in: context)
                continue
            }
            result.append(Entries.Entry(key: scalar.string, keyNode: key, value: value))
        }
        return result
    }

    /// The items of a list.
    mutating func items(of node: Node, for what: String, in context: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            report("expected a list for \(what), got \(node.described)", at: node, in: context)
            return nil
        }
        return Array(sequence)
    }

    /// The text of a key's value in a mapping, if that is a plain string, without reporting
    /// anything: used to name a thing (e.g. "device INC-01") before its entries are checked.
    static func peekName(_ node: Node, key: String) -> String? {
        guard case .mapping(let mapping) = node, case .scalar(let scalar)? = mapping[key],
            !scalar.string.isEmpty, !(mapping[key]?.isNull ?? true)
        else { return nil }
        return scalar.string
    }
}

extension Node {
    /// A plain `~`, `null` or nothing at all.
    var isNull: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any else {
            return false
        }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What a node is, for "expected X, got Y" messages.
    var described: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull { return "nothing" }
            switch scalar.style {
            case .singleQuoted, .doubleQuoted: return "the quoted text \"\(scalar.string)\""
            default: return "'\(scalar.string)'"
            }
        }
    }
}
