import LabGate

/// One line of a scenario: at simulated time `at`, something happens to `device`, for `duration`
/// (or until the end when nil).
public struct ScenarioEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The door is open: room air comes in (incubator, freezer, fridge).
        case doorOpen
        /// The incubator's CO2 bottle is empty: CO2 cannot be held.
        case co2SupplyEmpty
        /// The freezer's or fridge's compressor has stopped: it warms toward the room.
        case compressorFailure
        /// The LN2 tank is not filled: the level falls, then the vapour warms.
        case fillMissed
        /// The device does not answer at all.
        case silent
        /// The sensor behind `channel` fails: its registers hold the profile's invalid value.
        case sensorFault(channel: String)
        /// The device answers every request with Modbus exception `code`.
        case exception(code: UInt8)
        /// The device answers `by` later than it would (on top of the wire time).
        case slow(by: Duration)
        /// Replies carry a wrong CRC (rtu).
        case crcError
        /// Replies are cut short: the last bytes never come (rtu).
        case truncated
        /// Replies carry another unit id than the one asked (rtu).
        case wrongUnit
        /// The device's serial port disappears (adapter unplugged): the pty and its symlink go away,
        /// and a new pty appears at the same path when the event ends (rtu).
        case portVanish

        /// The name used in scenario files.
        public var name: String {
            switch self {
            case .doorOpen: "door_open"
            case .co2SupplyEmpty: "co2_supply_empty"
            case .compressorFailure: "compressor_failure"
            case .fillMissed: "fill_missed"
            case .silent: "silent"
            case .sensorFault: "sensor_fault"
            case .exception: "exception"
            case .slow: "slow"
            case .crcError: "crc_error"
            case .truncated: "truncated"
            case .wrongUnit: "wrong_unit"
            case .portVanish: "port_vanish"
            }
        }

        /// Every event name a scenario file may use.
        public static let names = [
            "door_open", "co2_supply_empty", "compressor_failure", "fill_missed", "silent", "sensor_fault", "exception",
            "slow", "crc_error", "truncated", "wrong_unit", "port_vanish",
        ]

        /// Events that only a serial line can show: refused for devices on tcp buses.
        public static let serialOnly: Set<String> = ["crc_error", "truncated", "wrong_unit", "port_vanish"]

        /// The device kinds this event makes sense for (nil: every kind).
        public static func kinds(for name: String) -> [DeviceKind]? {
            switch name {
            case "door_open": [.incubator, .freezer, .fridge]
            case "co2_supply_empty": [.incubator]
            case "compressor_failure": [.freezer, .fridge]
            case "fill_missed": [.ln2Tank]
            default: nil
            }
        }

        /// Whether this event can happen to a device of `kind`.
        public func applies(to kind: DeviceKind) -> Bool {
            Self.kinds(for: name)?.contains(kind) ?? true
        }
    }

    /// Simulated time from the start of the simulation.
    public var at: Duration
    public var device: String
    public var kind: Kind
    /// How long it lasts (the `for` key); nil: until the end of the simulation.
    public var duration: Duration?
    /// For `exception`: only the 1st, (N+1)th, (2N+1)th … request to the device while the event
    /// lasts gets the exception, the others are answered normally (a transiently busy device).
    public var every: Int?
    public var location: SourceLocation?

    public init(
        at: Duration, device: String, kind: Kind, duration: Duration? = nil, every: Int? = nil,
        location: SourceLocation? = nil
    ) {
        self.at = at
        self.device = device
        self.kind = kind
        self.duration = duration
        self.every = every
        self.location = location
    }

    /// When it ends by itself, if it does.
    public var end: Duration? { duration.map { at + $0 } }

    /// How it is announced, e.g. `door_open for 3m` or `sensor_fault co2`.
    public var summary: String {
        var text = kind.name
        switch kind {
        case let .sensorFault(channel): text += " \(channel)"
        case let .exception(code): text += " \(code)"
        case let .slow(by): text += " by \(DurationText.format(by))"
        default: break
        }
        if let every, every > 1 { text += " every \(every) requests" }
        if let duration { text += " for \(DurationText.format(duration))" }
        return text
    }
}
