import Modbus

/// What one series' numbers mean, as the audit trail records it when a config is loaded or a lot
/// placed: the unit, and the profile field the values were decoded with (`value = raw × scale +
/// offset`, from `type` in `order` at `table` `address`). Read back by reports without the config
/// of the day: a store read decades later still says what it holds.
public struct SeriesDescription: Sendable, Codable, Hashable {
    public var device: String
    public var channel: String
    public var profile: String
    public var unit: String
    public var table: String
    /// 0-based wire address.
    public var address: Int
    public var type: String
    public var order: String
    public var scale: Double
    public var offset: Double
    /// Raw values the device sends for "no valid measurement".
    public var invalid: [Double]
    /// The device's poll period, in seconds.
    public var every: Double

    public init(device: Device, field: Field, profile: String) {
        self.device = device.id
        channel = field.channel
        self.profile = profile
        unit = field.unit
        table = field.table.rawValue
        address = field.address
        type = field.type.rawValue
        order = field.order.rawValue
        scale = field.scale
        offset = field.offset
        invalid = field.invalid
        let parts = device.every.components
        every = Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The resolution of the values decoded with this field.
    public var resolution: ValueResolution {
        ValueResolution(type: RegisterType(rawValue: type) ?? .float32, scale: scale, offset: offset)
    }

    /// One line for people: `input 2 int16 AB × 0.01 + 0, %`.
    public var summary: String {
        var text = "\(table) \(address) \(type) \(order) × \(Self.number(scale))"
        if offset != 0 { text += " + \(Self.number(offset))" }
        return text + (unit.isEmpty ? "" : ", \(unit)")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && value.magnitude < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// A spec's content as recorded (canonical JSON in the audit trail): per channel, its limits.
public struct RecordedSpec: Sendable, Codable, Hashable {
    public var name: String
    public var limits: [String: Limits]

    public struct Limits: Sendable, Codable, Hashable {
        public var low: Bound?
        public var high: Bound?
        public var criticalLow: Double?
        public var criticalHigh: Double?
        /// Seconds.
        public var maxGap: Double?
    }

    public struct Bound: Sendable, Codable, Hashable {
        public var value: Double
        /// Seconds.
        public var delay: Double
        public var deadband: Double
        /// Seconds.
        public var hold: Double
    }

    public init(_ spec: Spec) {
        name = spec.name
        limits = spec.limits.mapValues { limits in
            Limits(
                low: limits.low.map(Self.bound), high: limits.high.map(Self.bound), criticalLow: limits.criticalLow,
                criticalHigh: limits.criticalHigh, maxGap: limits.maxGap.map(Self.seconds))
        }
    }

    private static func bound(_ bound: ChannelLimits.Bound) -> Bound {
        Bound(value: bound.value, delay: seconds(bound.delay), deadband: bound.deadband, hold: seconds(bound.hold))
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
