import Foundation
import Modbus

/// A validated configuration: what the daemon polls, where it writes, which limits apply.
///
/// Built only by `ConfigLoader`, which reports every problem with its file, line and column, so
/// a value of this type can be trusted by every later stage.
public struct Config: Sendable {
    /// The file this was loaded from (for messages and for the summary).
    public var file: String
    public var site: String
    /// SQLite file of the store; a relative path is taken from the working directory.
    public var store: String
    /// Folder holding `alerts.log` and `alerts.jsonl`; relative paths as for `store`.
    public var alerts: String
    public var buses: [Bus]
    public var devices: [Device]
    public var profiles: [String: Profile]
    public var specs: [String: Spec]
    /// The control socket (Unix domain socket) the CLI talks to; nil when the file names none
    /// (the daemon then uses `defaultControl` if its folder exists).
    public var control: String?
    /// Which groups give which role on the control socket.
    public var roles: Roles
    /// Readings held in memory while the store cannot be written (disk full); beyond that the
    /// oldest are dropped and the lost interval is recorded in the audit trail.
    public var storeBuffer: Int
    /// The HTTP listener (metrics, status, wall-screen page); nil when the file has no `http:`.
    public var http: HTTPSettings?
    /// Notification channels, rules and the fail-safe output; nil when the file has no `notify:`.
    public var notify: NotifySettings?
    /// `anchors:` the anchor file the daemon appends the chain heads to (nil: the journal under
    /// journald, else `defaultAnchorFile`).
    public var anchors: String?
    /// This gateway's id at the site (`gateway:`), and the site's PostgreSQL it forwards to.
    public var gateway: String?
    public var siteStore: SiteStoreSettings?
    /// `archive_after:` how long after a month ended the daemon moves it to a month archive
    /// (`MonthArchiver`); nil (the default): never.
    public var archiveAfter: Duration?
    /// `anchor_interval:` how often the daemon anchors the chain heads (at most a minute).
    public var anchorInterval: Duration = Config.defaultAnchorInterval
    /// The acts that need an electronic signature (`signatures: { require: [...] }`).
    public var signatures = SignatureSettings()

    public init(
        file: String, site: String, store: String, alerts: String, buses: [Bus], devices: [Device],
        profiles: [String: Profile], specs: [String: Spec], control: String? = nil,
        roles: Roles = Roles(), storeBuffer: Int = Config.defaultStoreBuffer, http: HTTPSettings? = nil,
        notify: NotifySettings? = nil
    ) {
        self.notify = notify
        self.storeBuffer = storeBuffer
        self.http = http
        self.file = file
        self.site = site
        self.store = store
        self.alerts = alerts
        self.buses = buses
        self.devices = devices
        self.profiles = profiles
        self.specs = specs
        self.control = control
        self.roles = roles
    }

    public static let defaultControl = "/run/labgate/control.sock"
    /// About 40 MB of readings: some 6 hours of 30 devices × 3 channels polled every 10 s, half
    /// an hour of 250 devices × 4 channels; time for an operator to free space.
    public static let defaultStoreBuffer = 200_000

    public static let defaultAnchorInterval: Duration = .seconds(60)

    /// Where the daemon anchors when the config names no file and it does not run under journald.
    public var defaultAnchorFile: String { (alerts as NSString).appendingPathComponent("anchors.jsonl") }

    /// The control socket the CLI looks for.
    public var controlPath: String { control ?? Self.defaultControl }

    public func bus(_ id: String) -> Bus? { buses.first { $0.id == id } }
    public func device(_ id: String) -> Device? { devices.first { $0.id == id } }
    public func devices(on bus: String) -> [Device] { devices.filter { $0.bus == bus } }

    /// The profile a device uses (validation guarantees it exists).
    public func profile(of device: Device) -> Profile {
        profiles[device.profile] ?? Profile(name: device.profile, fields: [])
    }
}

/// Where something was written in a config or scenario file, for error messages.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public struct Bus: Sendable, Hashable {
    public var id: String
    public var transport: ModbusTransport
    /// An RTU adapter named by its USB identity: its device node is looked up at each (re)open,
    /// and the transport's port only describes it.
    public var adapter: USBAdapterMatch?
    public var location: SourceLocation?

    public init(id: String, transport: ModbusTransport, adapter: USBAdapterMatch? = nil, location: SourceLocation? = nil) {
        self.id = id
        self.transport = transport
        self.adapter = adapter
        self.location = location
    }
}

public enum DeviceKind: String, Sendable, CaseIterable {
    case incubator, freezer, ln2Tank = "ln2_tank", fridge, other
    /// A Modbus I/O module (digital outputs, a communication watchdog): the only kind notification
    /// relays and the fail-safe may write to.
    case ioModule = "io_module"
}

public struct Device: Sendable, Hashable {
    public var id: String
    public var kind: DeviceKind
    public var bus: String
    /// Modbus unit (slave) id.
    public var unit: Int
    public var profile: String
    /// Poll period; polls run at a fixed rate, not a fixed delay after the previous reply.
    public var every: Duration
    /// The spec whose limits apply to this device (until lots carry their own).
    public var spec: String?
    /// The device's own equipment limits, per channel.
    public var limits: [String: ChannelLimits]
    /// How long to wait for a reply before the attempt counts as a timeout.
    public var timeout: Duration
    /// Further attempts after a failed one, within the same poll.
    public var retries: Int
    /// Consecutive failed polls before the device is reported unreachable.
    public var unreachableAfter: Int
    /// Further attempts after a reply with exception 6 (server device busy), each after `busyWait`.
    public var busyRetries: Int
    public var busyWait: Duration
    /// Wait after (re)connecting before the first request (some gateways need it).
    public var pauseAfterConnect: Duration
    /// Least quiet time on the bus before a request to this device.
    public var minGap: Duration
    /// Most registers one request may read (the device's own limit; Modbus allows 125).
    public var maxRegisters: Int
    /// Most unused registers a request may read to cover two fields with one request.
    public var maxFill: Int
    /// Reads every field with its own request (for devices that refuse multi-field reads).
    public var onePerField: Bool
    /// How long a device that stopped answering is left alone between attempts.
    public var backoff: BackoffPolicy
    public var location: SourceLocation?

    /// Defaults of the per-device quirks, also used by the config loader and documented in the README.
    public enum Defaults {
        public static let timeout = Duration.seconds(1)
        public static let retries = 1
        public static let unreachableAfter = 3
        public static let busyRetries = 3
        public static let busyWait = Duration.milliseconds(200)
        public static let maxRegisters = RequestPlanner.maxRegisters
        public static let maxFill = 8
        public static let backoffMaximum = Duration.seconds(300)
    }

    public init(
        id: String, kind: DeviceKind, bus: String, unit: Int, profile: String, every: Duration,
        spec: String? = nil, limits: [String: ChannelLimits] = [:], timeout: Duration = Defaults.timeout,
        retries: Int = Defaults.retries, unreachableAfter: Int = Defaults.unreachableAfter,
        busyRetries: Int = Defaults.busyRetries, busyWait: Duration = Defaults.busyWait,
        pauseAfterConnect: Duration = .zero, minGap: Duration = .zero, maxRegisters: Int = Defaults.maxRegisters,
        maxFill: Int = Defaults.maxFill, onePerField: Bool = false, backoff: BackoffPolicy? = nil,
        location: SourceLocation? = nil
    ) {
        self.id = id
        self.kind = kind
        self.bus = bus
        self.unit = unit
        self.profile = profile
        self.every = every
        self.spec = spec
        self.limits = limits
        self.timeout = timeout
        self.retries = retries
        self.unreachableAfter = unreachableAfter
        self.busyRetries = busyRetries
        self.busyWait = busyWait
        self.pauseAfterConnect = pauseAfterConnect
        self.minGap = minGap
        self.maxRegisters = maxRegisters
        self.maxFill = maxFill
        self.onePerField = onePerField
        self.backoff = backoff ?? BackoffPolicy(every: every)
        self.location = location
    }
}

/// Exponential backoff of a device that does not answer: after the k-th failed poll in a row the
/// next attempt waits `min(initial · 2^(k−1), maximum)` from the start of that poll.
public struct BackoffPolicy: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The default: start at the poll period (so one failed poll skips nothing), at most 5 minutes
    /// (or the period, when that is longer).
    public init(every: Duration) {
        self.init(initial: every, maximum: max(every, Device.Defaults.backoffMaximum))
    }

    /// The wait after `failures` failed polls in a row (zero when there were none).
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = initial
        for _ in 1..<failures {
            if delay >= maximum { break }
            delay = delay * 2
        }
        return min(delay, maximum)
    }
}

/// A device model's register map: which registers hold which channel, and how to read them.
public struct Profile: Sendable, Hashable {
    public var name: String
    /// In the order the profile lists them.
    public var fields: [Field]

    public init(name: String, fields: [Field]) {
        self.name = name
        self.fields = fields
    }

    public func field(_ channel: String) -> Field? { fields.first { $0.channel == channel } }
}

extension Device {
    /// The pacing the bus owner applies to this device's transactions.
    public var transactionOptions: TransactionOptions {
        TransactionOptions(timeout: timeout, minimumGap: minGap, pauseAfterConnect: pauseAfterConnect)
    }

    /// How this device's fields are grouped into requests.
    public var planOptions: RequestPlanner.Options {
        RequestPlanner.Options(maxRegisters: maxRegisters, maxFill: maxFill, onePerField: onePerField)
    }
}

/// One channel of a profile: `value = raw * scale + offset`, unless `raw` is a sentinel.
public struct Field: Sendable, Hashable {
    public var channel: String
    public var table: ModbusTable
    /// 0-based wire address (manuals often print 1-based register numbers).
    public var address: Int
    public var type: RegisterType
    public var order: WordOrder
    public var scale: Double
    public var offset: Double
    public var unit: String
    /// Raw values the device sends to say "no valid measurement" (compared before scaling).
    public var invalid: [Double]
    public var location: SourceLocation?

    public init(
        channel: String, table: ModbusTable, address: Int, type: RegisterType, order: WordOrder? = nil,
        scale: Double = 1, offset: Double = 0, unit: String = "", invalid: [Double] = [],
        location: SourceLocation? = nil
    ) {
        self.channel = channel
        self.table = table
        self.address = address
        self.type = type
        self.order = order ?? type.defaultOrder
        self.scale = scale
        self.offset = offset
        self.unit = unit
        self.invalid = invalid
        self.location = location
    }

    /// Registers this field occupies.
    public var addresses: Range<Int> { address..<(address + type.width) }
}

/// What the cells need: per channel limits.
public struct Spec: Sendable, Hashable {
    public var name: String
    public var limits: [String: ChannelLimits]

    public init(name: String, limits: [String: ChannelLimits]) {
        self.name = name
        self.limits = limits
    }
}

/// Limits of one channel. A value below `low` or above `high` is out of spec; it becomes an
/// excursion once it has lasted `delay`. A critical limit raises an excursion at once.
public struct ChannelLimits: Sendable, Hashable {
    public struct Bound: Sendable, Hashable {
        public var value: Double
        public var delay: Duration
        /// Which configured limit this bound came from, e.g. "spec msc-culture" or "equipment".
        public var source: String
        /// Deviations: a value must come back inside the limit by this much to count as recovered.
        public var deadband: Double
        /// Deviations: ... and stay there this long.
        public var hold: Duration

        public init(value: Double, delay: Duration, source: String, deadband: Double = 0, hold: Duration = .zero) {
            self.value = value
            self.delay = delay
            self.source = source
            self.deadband = deadband
            self.hold = hold
        }
    }

    public var low: Bound?
    public var high: Bound?
    public var criticalLow: Double?
    public var criticalHigh: Double?
    /// Deviations: the longest time without a valid reading while lots are inside.
    public var maxGap: Duration?

    public init(
        low: Bound? = nil, high: Bound? = nil, criticalLow: Double? = nil, criticalHigh: Double? = nil,
        maxGap: Duration? = nil
    ) {
        self.low = low
        self.high = high
        self.criticalLow = criticalLow
        self.criticalHigh = criticalHigh
        self.maxGap = maxGap
    }

    /// Convenience for limits from a single source with one delay.
    public init(
        low: Double? = nil, high: Double? = nil, delay: Duration = .zero, criticalLow: Double? = nil,
        criticalHigh: Double? = nil, source: String, deadband: Double = 0, hold: Duration = .zero,
        maxGap: Duration? = nil
    ) {
        self.low = low.map { Bound(value: $0, delay: delay, source: source, deadband: deadband, hold: hold) }
        self.high = high.map { Bound(value: $0, delay: delay, source: source, deadband: deadband, hold: hold) }
        self.criticalLow = criticalLow
        self.criticalHigh = criticalHigh
        self.maxGap = maxGap
    }

    /// The tightest combination: the highest low, the lowest high (on a tie, the shorter delay).
    public static func tightest(_ all: [ChannelLimits]) -> ChannelLimits? {
        guard var result = all.first else { return nil }
        for other in all.dropFirst() {
            result.low = pick(result.low, other.low) { $0.value > $1.value }
            result.high = pick(result.high, other.high) { $0.value < $1.value }
            result.criticalLow = [result.criticalLow, other.criticalLow].compactMap { $0 }.max()
            result.criticalHigh = [result.criticalHigh, other.criticalHigh].compactMap { $0 }.min()
            result.maxGap = [result.maxGap, other.maxGap].compactMap { $0 }.min()
        }
        return result
    }

    private static func pick(_ a: Bound?, _ b: Bound?, tighter: (Bound, Bound) -> Bool) -> Bound? {
        guard let a else { return b }
        guard let b else { return a }
        if a.value == b.value { return a.delay <= b.delay ? a : b }
        return tighter(a, b) ? a : b
    }
}

/// Who may do what on the control socket: each role is given by membership of any of its groups.
public struct Roles: Sendable, Hashable {
    /// Start, move and end lots; acknowledge deviations.
    public var operators: [String]
    /// Close deviations with an impact assessment.
    public var qa: [String]
    /// Whether the user who closes a deviation must be another than the one who acknowledged it
    /// (the default: no one both acknowledges and signs off their own deviation).
    public var separateDuties: Bool

    public init(operators: [String] = ["labgate-operators"], qa: [String] = ["labgate-qa"], separateDuties: Bool = true) {
        self.operators = operators
        self.qa = qa
        self.separateDuties = separateDuties
    }
}
