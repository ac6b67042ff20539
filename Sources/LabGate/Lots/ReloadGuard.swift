/// What a new config must keep so that no monitoring stops silently on reload: the device, the
/// spec and the spec's channels of every lot inside a device, and the device and channel of
/// every deviation still open (it ends only at a reading of that channel). A config that drops
/// or renames any of them is refused with one line per lot or deviation, saying what to do.
public enum ReloadGuard {
    /// A deviation still open, where it runs.
    public struct OpenDeviation: Sendable, Hashable {
        public var id: String
        public var device: String
        public var channel: String

        public init(id: String, device: String, channel: String) {
            self.id = id
            self.device = device
            self.channel = channel
        }
    }

    /// Why `next` cannot replace the running config, one line each; empty when it can.
    public static func problems(
        next: Config, lotsInside: [(lot: String, device: String, spec: String)], open: [OpenDeviation]
    ) -> [String] {
        var problems: [String] = []
        for (lot, deviceID, specName) in lotsInside {
            let what = "end the lot (labgate lot end \(lot)) or move it (labgate lot move \(lot) --device ... --spec ...) first"
            guard let device = next.device(deviceID) else {
                problems.append("lot \(lot) is inside \(deviceID), which the new config no longer has: \(what)")
                continue
            }
            guard let spec = next.specs[specName] else {
                problems.append("lot \(lot) in \(deviceID) carries spec \(specName), which the new config no longer has: \(what)")
                continue
            }
            let measured = Set(next.profile(of: device).fields.map(\.channel))
            let missing = spec.limits.keys.filter { !measured.contains($0) }.sorted()
            if !missing.isEmpty {
                problems.append(
                    "lot \(lot) in \(deviceID) carries spec \(specName), whose \(missing.joined(separator: ", ")) the new config no longer measures on \(deviceID): \(what)")
            }
        }
        for deviation in open {
            let measured = next.device(deviation.device).map { Set(next.profile(of: $0).fields.map(\.channel)) }
            guard measured?.contains(deviation.channel) != true else { continue }
            let gone = measured == nil ? "device \(deviation.device)" : "channel \(deviation.channel) of \(deviation.device)"
            problems.append(
                "deviation \(deviation.id) is open on \(deviation.device) \(deviation.channel), and the new config no longer has \(gone): keep it until the deviation has recovered")
        }
        return problems
    }
}
