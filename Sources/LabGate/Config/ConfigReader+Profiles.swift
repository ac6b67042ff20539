import Foundation
import Modbus
import Yams

extension ConfigReader {
    static let fieldKeys = ["table", "address", "type", "order", "scale", "offset", "unit", "invalid"]
    static let requiredFieldKeys = ["table", "address", "type"]

    /// The `profiles:` mapping, or a profile file, name -> channel -> field. Fields keep their file
    /// order. A name defined before (in the config or another profile file) is reported.
    mutating func readProfiles(_ node: Node) -> [String: Profile] {
        guard let named = namedEntries(of: node, for: "profiles", in: "") else { return [:] }
        var profiles: [String: Profile] = [:]
        for entry in named {
            let context = "profile \(entry.key)"
            if let first = profileOrigins[entry.key] {
                report("profile \(entry.key) is already defined at \(first)", at: entry.keyNode, in: "")
                continue
            }
            profileOrigins[entry.key] = location(of: entry.keyNode)
            guard let channels = namedEntries(of: entry.value, for: "a profile (channel: field)", in: context) else {
                profileChannels.updateValue(nil, forKey: entry.key)
                continue
            }
            profileChannels.updateValue(Set(channels.map(\.key)), forKey: entry.key)
            if channels.isEmpty {
                report("no channels defined", at: entry.value, in: context)
            }
            let read = channels.map { readField($0, in: "\(context), \($0.key)") }
            let placements = read.compactMap(\.placement)
            checkOverlaps(placements, in: context)
            if let widest = placements.max(by: { $0.registers.count < $1.registers.count }) {
                profileWidths[entry.key] = (widest.channel, widest.registers.count)
            }
            profiles[entry.key] = Profile(name: entry.key, fields: read.compactMap(\.field))
        }
        return profiles
    }

    /// `profile_files:` a list of YAML files, each shaped like the `profiles:` section (by
    /// convention one profile per file). Relative paths are taken from the config file's folder;
    /// problems inside a profile file are reported at that file's line and column.
    mutating func readProfileFiles(_ node: Node) -> [String: Profile] {
        guard let items = items(of: node, for: "profile_files", in: "") else { return [:] }
        let folder = (file as NSString).deletingLastPathComponent
        var profiles: [String: Profile] = [:]
        for item in items {
            guard let path = string(item, "a profile file", in: "profile_files") else { continue }
            let resolved = path.hasPrefix("/") || folder.isEmpty ? path : folder + "/" + path
            let text: String
            switch readFile(resolved) {
            case let .success(contents): text = contents
            case let .failure(problem):
                report("cannot read profile file \(resolved): \(problem.reason)", at: item, in: "profile_files")
                continue
            }
            let root: Node?
            do {
                root = try Yams.compose(yaml: text, .basic)  // as ConfigLoader: scalars stay strings
            } catch {
                append(ConfigLoader.syntaxError(error, yaml: text, file: resolved))
                continue
            }
            guard let root else {
                report("profile file \(resolved) is empty (expected name: { channel: field, ... })", at: item, in: "profile_files")
                continue
            }
            let configFile = file
            file = resolved
            profiles.merge(readProfiles(root)) { first, _ in first }
            file = configFile
        }
        return profiles
    }

    /// Where a field's registers are, known as soon as its table, address and type are, so that
    /// overlaps are reported even for a field with other mistakes.
    struct Placement {
        var channel: String
        var table: ModbusTable
        var registers: Range<Int>
        /// Where overlaps are reported.
        var addressNode: Node

        /// "co2 (input 2..2)": the channel and its registers, both ends included.
        var described: String { "\(channel) (\(table.rawValue) \(registers.lowerBound)..\(registers.upperBound - 1))" }
    }

    /// One channel's field (nil when it has a mistake) and where its registers are.
    private mutating func readField(_ entry: Entries.Entry, in context: String) -> (field: Field?, placement: Placement?) {
        guard let map = entries(
            of: entry.value, keys: Self.fieldKeys, required: Self.requiredFieldKeys, for: "a field", in: context)
        else { return (nil, nil) }

        let errorsBefore = errors.count
        let table: ModbusTable? = choice("table", of: map)
        let address = integer("address", of: map, range: 0...65535)
        let type: RegisterType? = choice("type", of: map)
        let order: WordOrder? = choice("order", of: map)
        if let order, let type, !type.allowedOrders.contains(order), let node = map["order"] {
            let allowed = Self.alternatives(type.allowedOrders.map(\.rawValue))
            report("order \(order.rawValue) does not fit \(type.rawValue) (use \(allowed))", at: node, in: context)
        }
        let scale = number("scale", of: map)
        if scale == 0, let node = map["scale"] {
            report("scale must not be 0", at: node, in: context)
        }
        let offset = number("offset", of: map)
        let unit = string("unit", of: map, allowEmpty: true)
        let invalid = map["invalid"].flatMap { readNumbers($0, "invalid", in: context) }

        guard let table, let address, let type, let addressNode = map["address"] else { return (nil, nil) }
        let placement = Placement(
            channel: entry.key, table: table, registers: address..<(address + type.width), addressNode: addressNode)
        if placement.registers.upperBound > 65536 {
            let last = placement.registers.upperBound - 1
            let message = "\(type.rawValue) at \(table.rawValue) \(address) needs registers up to \(last) (the last is 65535)"
            report(message, at: addressNode, in: context)
            return (nil, nil)
        }
        guard errors.count == errorsBefore else { return (nil, placement) }
        let field = Field(
            channel: entry.key, table: table, address: address, type: type, order: order, scale: scale ?? 1,
            offset: offset ?? 0, unit: unit ?? "", invalid: invalid ?? [], location: location(of: entry.keyNode))
        return (field, placement)
    }

    /// A list of numbers; nil when the list or any item is wrong (each wrong item is reported).
    private mutating func readNumbers(_ node: Node, _ name: String, in context: String) -> [Double]? {
        guard let items = items(of: node, for: name, in: context) else { return nil }
        let numbers = items.compactMap { number($0, name, in: context) }
        return numbers.count == items.count ? numbers : nil
    }

    /// Two fields of one profile may not share a register of the same table; the later one is
    /// reported.
    private mutating func checkOverlaps(_ placements: [Placement], in context: String) {
        for (index, placement) in placements.enumerated() {
            guard let other = placements[..<index].first(where: {
                $0.table == placement.table && $0.registers.overlaps(placement.registers)
            }) else { continue }
            report("\(placement.described) overlaps \(other.described)", at: placement.addressNode, in: context)
        }
    }

    /// "AB or BA", "ABCD, CDAB, BADC or DCBA".
    static func alternatives(_ names: [String]) -> String {
        guard let last = names.last, names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + last
    }
}
