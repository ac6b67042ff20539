import Foundation
import LabGate
import Modbus
import Prometheus
import SiteStore
import Synchronization

/// The daemon's Prometheus metrics. Counters and the transaction-time histogram are fed as
/// events happen (`PollObserver`, `StoreObserver`), so a scrape never loses what happened between
/// two scrapes; gauges describing the present (deviations, store backlog, device up) are set
/// when `/metrics` is rendered. One instance lives as long as the daemon, across config reloads,
/// so counters only ever go up.
public final class DaemonMetrics: PollObserver, StoreObserver, Sendable {
    /// Modbus replies take ~1 ms on a LAN and tens of ms at 9600 baud; the top buckets catch a
    /// device that answers just before its timeout.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .microseconds(2_500_000), .seconds(5),
    ]
    /// The outcomes every device's transaction counter starts with at 0 (exceptions appear with
    /// their code when one first happens).
    static let transactionOutcomes = ["ok", "timeout", "bad_crc", "bad_response", "disconnected"]
    static let pollOutcomes = ["answered", "failed", "skipped"]
    static let deviationStates: [DeviationRecord.State] = [.open, .recovered, .acknowledged]

    public let registry = PrometheusCollectorRegistry()
    private let busOfDevice = Mutex<[String: String]>([:])
    /// Deviation gauges set at the last render, so that a device whose deviations were all closed
    /// goes back to 0 instead of keeping its last count.
    private let deviationSeries = Mutex<Set<[String]>>([])
    /// Where forwarding to the site store stands (nil without a `site_store`).
    let forward = Mutex<ForwardState?>(nil)

    public init(startTime: Date = Date()) {
        registry.makeGauge(descriptor: Names.startTime).set(startTime.timeIntervalSince1970)
    }

    /// Takes the devices of a (new) config: their bus for the labels, and every series at 0 so
    /// that rates and alerts work from the first scrape.
    public func configure(_ config: Config) {
        busOfDevice.withLock { map in
            for device in config.devices { map[device.id] = device.bus }
        }
        for device in config.devices {
            for outcome in Self.pollOutcomes { _ = pollCounter(device.id, outcome) }
            for outcome in Self.transactionOutcomes { _ = transactionCounter(device.id, outcome, code: nil) }
            _ = latency(device.id)
            registry.makeGauge(descriptor: Names.up, labels: labels(device.id)).set(0.0)
            for state in Self.deviationStates { deviationGauge(device.id, state).set(0.0) }
        }
        _ = registry.makeCounter(descriptor: Names.written)
        _ = registry.makeCounter(descriptor: Names.dropped)
    }

    // MARK: Events

    public func transaction(device: String, outcome: Result<Void, ModbusError>, duration: Duration, replied: Bool) {
        let (kind, code) = Self.kind(of: outcome)
        transactionCounter(device, kind, code: code).increment()
        if replied { latency(device).record(max(.zero, duration)) }
    }

    public func poll(_ result: PollResult) {
        let outcome = result.skipped ? "skipped" : result.failure == nil ? "answered" : "failed"
        pollCounter(result.device, outcome).increment()
    }

    public func committed(readings: Int) {
        registry.makeCounter(descriptor: Names.written).increment(by: Int64(readings))
    }

    public func dropped(readings: Int) {
        registry.makeCounter(descriptor: Names.dropped).increment(by: Int64(readings))
    }

    /// The `outcome` label of a transaction, and the exception code for exceptions.
    static func kind(of outcome: Result<Void, ModbusError>) -> (String, UInt8?) {
        switch outcome {
        case .success: return ("ok", nil)
        case .failure(.timeout): return ("timeout", nil)
        case let .failure(.exception(exception)): return ("exception", exception.code)
        case .failure(.badCRC): return ("bad_crc", nil)
        case .failure(.badResponse): return ("bad_response", nil)
        case .failure(.transport), .failure(.setup): return ("disconnected", nil)
        }
    }

    // MARK: Rendering

    /// The text exposition format, after setting the gauges of the present moment.
    public func render(
        now: Date, deviations: [DeviationRecord], backlog: StoreBacklog, statuses: [String: DeviceStatus]
    ) -> String {
        var counts: [[String]: Int] = [:]
        for deviation in deviations where deviation.state != .closed {
            counts[[deviation.device, deviation.state.rawValue], default: 0] += 1
        }
        deviationSeries.withLock { previous in
            for key in previous.union(counts.keys) {
                let state = DeviationRecord.State(rawValue: key[1]) ?? .open
                deviationGauge(key[0], state).set(Double(counts[key] ?? 0))
            }
            previous.formUnion(counts.keys)
        }
        registry.makeGauge(descriptor: Names.held).set(Double(backlog.held))
        registry.makeGauge(descriptor: Names.lag).set(backlog.lag(at: now))
        if let forward = forward.withLock({ $0 }) { setForwardGauges(forward.snapshot) }
        for (device, status) in statuses {
            let up = status.lastPoll != nil && status.consecutiveFailures == 0
            registry.makeGauge(descriptor: Names.up, labels: labels(device)).set(up ? 1.0 : 0.0)
        }
        return registry.emitToString()
    }

    // MARK: Series

    private func labels(_ device: String) -> [(String, String)] {
        [("device", device), ("bus", busOfDevice.withLock { $0[device] } ?? "")]
    }

    private func pollCounter(_ device: String, _ outcome: String) -> Counter {
        registry.makeCounter(descriptor: Names.polls, labels: labels(device) + [("outcome", outcome)])
    }

    private func transactionCounter(_ device: String, _ outcome: String, code: UInt8?) -> Counter {
        var labels = labels(device) + [("outcome", outcome)]
        if let code { labels.append(("code", String(code))) }
        return registry.makeCounter(descriptor: Names.transactions, labels: labels)
    }

    private func latency(_ device: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Names.latency, labels: labels(device), buckets: Self.latencyBuckets)
    }

    private func deviationGauge(_ device: String, _ state: DeviationRecord.State) -> Gauge {
        registry.makeGauge(descriptor: Names.deviations, labels: [("device", device), ("state", state.rawValue)])
    }

    /// Names and help texts; the registry insists that one name always comes with one help text.
    /// (Computed: the descriptor type is not Sendable, so it cannot be a static constant.)
    enum Names {
        static var polls: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", metricName: "polls", unitName: "total",
            helpText: "Polls of a device by outcome: answered, failed (no answer), skipped (backoff).") }
        static var transactions: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "modbus", metricName: "transactions", unitName: "total",
            helpText: "Modbus requests sent by outcome: ok, timeout, bad_crc, bad_response, exception (with code), disconnected.") }
        static var latency: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "modbus", metricName: "transaction_duration", unitName: "seconds",
            helpText: "Time from request to reply, of requests that got one (ok, exception, bad_crc, bad_response).") }
        static var up: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", metricName: "device_up", unitName: "",
            helpText: "1 when the device's latest poll got an answer, else 0.") }
        static var deviations: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", metricName: "deviations", unitName: "",
            helpText: "Deviations not closed yet, by state: open (still out of limits), recovered and acknowledged (awaiting QA closure).") }
        static var lag: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "store", metricName: "write_lag", unitName: "seconds",
            helpText: "Age of the oldest reading not yet committed to the store (0 when none); grows steadily while the store cannot be written.") }
        static var held: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "store", metricName: "readings_held", unitName: "",
            helpText: "Readings in memory waiting to be committed to the store.") }
        static var written: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "store", metricName: "readings_written", unitName: "total",
            helpText: "Readings committed to the store.") }
        static var dropped: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", subsystem: "store", metricName: "readings_dropped", unitName: "total",
            helpText: "Readings dropped because the store could not be written and the memory buffer was full (audited as readings_lost).") }
        static var startTime: MetricNameDescriptor { MetricNameDescriptor(
            namespace: "labgate", metricName: "start_time", unitName: "seconds",
            helpText: "When the daemon started, in seconds since the Unix epoch.") }
    }
}
