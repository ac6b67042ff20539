import Foundation
import LabGate

/// What `/status` answers and the wall-screen page shows: every configured device with its
/// polling state, each channel's latest value against the limits in force now, the lots inside,
/// and every deviation not yet closed. Built from what the daemon holds in memory (the poll
/// counters for polling state, the latest readings the pipeline accepted, the lot registry) plus
/// the deviations in the store.
public struct StatusSnapshot: Sendable, Codable, Hashable {
    public var site: String
    public var started: Date
    /// When this snapshot was taken.
    public var time: Date
    /// How often the page asks for a new snapshot, in seconds.
    public var refreshSeconds: Double
    public var store: StoreView
    public var devices: [DeviceView]
    /// Not closed yet: open ones first, then by start.
    public var deviations: [DeviationView]
    /// Where forwarding to the site store stands (nil without a `site_store`).
    public var forward: ForwardView?

    public struct ForwardView: Sendable, Codable, Hashable {
        public var gateway: String
        public var url: String
        public var connected: Bool
        /// Local readings the site store has not confirmed, and for how long it has lacked some.
        public var lagReadings: Int64
        public var lagSeconds: Double
        public var lastForward: Date?
        public var lastError: String?

        public init(gateway: String, url: String, connected: Bool, lagReadings: Int64, lagSeconds: Double, lastForward: Date?, lastError: String?) {
            self.gateway = gateway
            self.url = url
            self.connected = connected
            self.lagReadings = lagReadings
            self.lagSeconds = lagSeconds
            self.lastForward = lastForward
            self.lastError = lastError
        }
    }

    public struct StoreView: Sendable, Codable, Hashable {
        /// Readings in memory, not committed yet.
        public var held: Int
        /// Age of the oldest of them, in seconds (0 when none).
        public var writeLagSeconds: Double
    }

    /// Polling state: `never_polled`, `ok` (the latest poll got an answer), `failing` (the latest
    /// got none), `backoff` (failing, and left alone until `nextTry`).
    public enum PollState: String, Sendable, Codable, Hashable {
        case neverPolled = "never_polled", ok, failing, backoff
    }

    /// What the page colours a tile by, worst first: a value outside the limits now, a device or
    /// channel without a value, data older than the device's poll period allows, or all in spec.
    public enum Condition: String, Sendable, Codable, Hashable {
        case outOfSpec = "out_of_spec", fault, stale, inSpec = "in_spec"
    }

    public struct DeviceView: Sendable, Codable, Hashable {
        public var id: String
        public var kind: String
        public var bus: String
        public var unit: Int
        public var everySeconds: Double
        public var state: PollState
        public var condition: Condition
        /// No poll for longer than three poll periods (at least ten seconds more than one).
        public var stale: Bool
        /// At least `unreachable_after` polls in a row got no answer.
        public var unreachable: Bool
        public var consecutiveFailures: Int
        public var lastPoll: Date?
        public var lastAnswer: Date?
        public var nextTry: Date?
        public var lastError: String?
        public var channels: [ChannelView]
        public var lots: [LotSpec]
        /// Ids of this device's deviations in `StatusSnapshot.deviations`.
        public var deviations: [String]
    }

    public struct ChannelView: Sendable, Codable, Hashable {
        public var channel: String
        public var unit: String
        /// The latest reading's value (only when its quality is good).
        public var value: Double?
        /// The latest reading's quality; nil before the first reading.
        public var quality: Quality?
        public var detail: String?
        public var time: Date?
        public var lastGoodValue: Double?
        public var lastGoodTime: Date?
        /// The tightest of the device's equipment limits, its spec and the specs of the lots inside.
        public var limits: LimitsView?
        /// Whether `value` is within `limits` (true without limits); nil without a value.
        public var inSpec: Bool?
        /// The limit `value` breaks: `low`, `high`, `critical_low` or `critical_high`.
        public var breached: String?
    }

    public struct LimitsView: Sendable, Codable, Hashable {
        public var low: Double?
        public var high: Double?
        public var criticalLow: Double?
        public var criticalHigh: Double?
        /// Where `low` and `high` come from, e.g. "spec msc-culture", "equipment".
        public var sources: [String]
    }

    public struct DeviationView: Sendable, Codable, Hashable {
        public var id: String
        public var kind: DeviationRecord.Kind
        public var state: DeviationRecord.State
        public var device: String
        public var channel: String
        public var unit: String?
        public var limit: AlertEvent.Limit
        public var critical: Bool
        public var start: Date
        public var opened: Date
        public var end: Date?
        /// Worst value so far (still open) or over the whole deviation.
        public var worst: Double?
        public var lots: [String]
        public var acknowledgedBy: String?
    }
}

extension StatusSnapshot {
    /// `statuses` give each device's polling state, `readings` its channels' latest values: those
    /// the pipeline accepted (`LatestReadings`), not what the pollers saw.
    public static func build(
        config: Config, statuses: [String: DeviceStatus], readings: [String: [ChannelStatus]], lots: (String) -> [LotSpec],
        deviations: [DeviationRecord],
        progress: DeviationProgress? = nil, backlog: StoreBacklog, started: Date, now: Date, forward: ForwardView? = nil
    ) -> StatusSnapshot {
        let shown = deviations.filter { $0.state != .closed }
            .sorted { ($0.state == .open ? 0 : 1, $0.start, $0.id) < ($1.state == .open ? 0 : 1, $1.start, $1.id) }
            .map { DeviationView($0, live: progress?[$0.id]) }
        let devices = config.devices.map { device in
            DeviceView(
                device, status: statuses[device.id], readings: readings[device.id] ?? [], lots: lots(device.id),
                deviations: shown.filter { $0.device == device.id }.map(\.id), config: config, now: now)
        }
        return StatusSnapshot(
            site: config.site, started: started, time: now, refreshSeconds: (config.http?.refresh ?? HTTPSettings.defaultRefresh).seconds,
            store: StoreView(held: backlog.held, writeLagSeconds: backlog.lag(at: now)), devices: devices, deviations: shown,
            forward: forward)
    }

    /// Pretty JSON with sorted keys and times as UTC text, as the store's records.
    public func json() -> Data {
        let encoder = RecordJSON.encoder
        encoder.outputFormatting.insert(.prettyPrinted)
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    public static func decode(_ data: Data) throws -> StatusSnapshot {
        try RecordJSON.decoder.decode(StatusSnapshot.self, from: data)
    }
}

extension StatusSnapshot.DeviceView {
    init(
        _ device: Device, status: DeviceStatus?, readings: [ChannelStatus], lots: [LotSpec], deviations: [String],
        config: Config, now: Date
    ) {
        id = device.id
        kind = device.kind.rawValue
        bus = device.bus
        unit = device.unit
        everySeconds = device.every.seconds
        self.lots = lots
        self.deviations = deviations
        consecutiveFailures = status?.consecutiveFailures ?? 0
        unreachable = consecutiveFailures >= device.unreachableAfter
        lastPoll = status?.lastPoll
        lastAnswer = status?.lastAnswer
        nextTry = status?.nextTry
        lastError = status?.lastError
        if lastPoll == nil {
            state = .neverPolled
        } else if consecutiveFailures == 0 {
            state = .ok
        } else if let nextTry, nextTry > now {
            state = .backoff
        } else {
            state = .failing
        }
        let staleAfter = max(device.every.seconds * 3, device.every.seconds + 10)
        stale = lastPoll.map { now.timeIntervalSince($0) > staleAfter } ?? false

        let profile = config.profile(of: device)
        var known = readings
        var views: [StatusSnapshot.ChannelView] = []
        for field in profile.fields {
            let latest = known.firstIndex { $0.channel == field.channel }.map { known.remove(at: $0) }
            views.append(.init(field.channel, unit: field.unit, latest: latest, device: device, lots: lots, config: config))
        }
        // Channels the profile lost on a reload still show what they last said.
        for latest in known {
            views.append(.init(latest.channel, unit: "", latest: latest, device: device, lots: lots, config: config))
        }
        channels = views

        if channels.contains(where: { $0.inSpec == false }) {
            condition = .outOfSpec
        } else if state != .ok || channels.contains(where: { $0.quality != .good }) {
            condition = .fault
        } else if stale {
            condition = .stale
        } else {
            condition = .inSpec
        }
    }
}

extension StatusSnapshot.ChannelView {
    init(_ channel: String, unit: String, latest: ChannelStatus?, device: Device, lots: [LotSpec], config: Config) {
        self.channel = channel
        self.unit = unit
        value = latest?.quality == .good ? latest?.value : nil
        quality = latest?.quality
        detail = latest?.detail
        time = latest?.time
        lastGoodValue = latest?.lastGoodValue
        lastGoodTime = latest?.lastGoodTime
        let shown = LimitsInForce(config: config, device: device, channel: channel, lots: lots).shown
        limits = shown.map(StatusSnapshot.LimitsView.init)
        if let value {
            let violation = shown.flatMap { $0.violation(by: value) }
            inSpec = violation == nil
            breached = violation?.limit.name
        }
    }
}

extension StatusSnapshot.LimitsView {
    init(_ limits: ChannelLimits) {
        low = limits.low?.value
        high = limits.high?.value
        criticalLow = limits.criticalLow
        criticalHigh = limits.criticalHigh
        sources = Array(Set([limits.low?.source, limits.high?.source].compactMap { $0 })).sorted()
    }
}

extension StatusSnapshot.DeviationView {
    init(_ record: DeviationRecord, live: DeviationProgress.Live?) {
        id = record.id
        kind = record.kind
        state = record.state
        device = record.device
        channel = record.channel
        unit = record.unit
        limit = record.limit
        critical = record.critical
        start = Date(millisecondsSince1970: record.start)
        opened = Date(millisecondsSince1970: record.opened)
        end = record.end.map { Date(millisecondsSince1970: $0) }
        worst = record.state == .open ? (live?.worst ?? record.worst) : record.worst
        lots = record.lots
        acknowledgedBy = record.ackedBy
    }
}
