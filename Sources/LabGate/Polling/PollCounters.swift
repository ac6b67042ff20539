import Foundation
import Histogram
import Modbus
import Synchronization

/// Per-device diagnostics, shared between the bus pollers (which record) and whoever reports them
/// (the status snapshot in the store, the daemon's summary at stop): transaction counters, a
/// transaction-time histogram, the last error, poll outcomes and backoff state.
public final class PollCounters: Sendable {
    /// Transaction times are kept in microseconds, from 1 µs to 60 s, to 2 significant digits.
    /// Counts are 32-bit (a bucket overflows after 4 billion replies, 13 years of polls every
    /// 100 ms): 10 KB per device instead of 20 KB, which at 250 devices is 2.5 MB of resident memory.
    static let histogramHighest: UInt64 = 60_000_000

    /// A device's histogram starts covering replies up to ~8 ms (4.5 KB) and grows, a bucket of
    /// 512 bytes per doubling, as far as its slowest reply: most devices never need the range up to
    /// 60 s, and 250 full ones would be 2.5 MB resident. The values and percentiles are the same.
    static let latencyInitialHighest: UInt64 = 8_000

    private struct DeviceState {
        var status: DeviceStatus
        var latency: Histogram<UInt32> = {
            var histogram = Histogram<UInt32>(
                lowestDiscernibleValue: 1, highestTrackableValue: PollCounters.latencyInitialHighest,
                numberOfSignificantValueDigits: .two)
            histogram.autoResize = true
            return histogram
        }()
    }

    private let state = Mutex<[String: DeviceState]>([:])
    private let observer: (any PollObserver)?
    private let schedule = Mutex(ScheduleState())

    /// Every bus's schedule together: how late polls started against their fixed-rate slots.
    private struct ScheduleState {
        var lateness = Histogram<UInt32>(
            lowestDiscernibleValue: 1, highestTrackableValue: PollCounters.histogramHighest,
            numberOfSignificantValueDigits: .two)
        var missed = 0
    }

    public init(observer: (any PollObserver)? = nil) {
        self.observer = observer
    }

    /// Records when a poll (or a slot skipped in backoff) started against its slot: the schedule's
    /// jitter, caused by timer wake-ups, a busy machine and the devices before it on its bus.
    func started(lateness: Duration) {
        let micros = max(1, min(Self.histogramHighest, UInt64(max(0, lateness.seconds * 1e6).rounded())))
        schedule.withLock { _ = $0.lateness.record(micros) }
    }

    /// Records slots that passed by a whole period before their poll could start (a bus behind
    /// its schedule): polls that never happened.
    func missed(slots: Int) {
        schedule.withLock { $0.missed += slots }
    }

    /// How well every bus kept its schedule since the start.
    public var scheduleSummary: ScheduleSummary {
        schedule.withLock { state in
            ScheduleSummary(
                polls: Int(state.lateness.totalCount), lateness: Self.summary(state.lateness), missedSlots: state.missed)
        }
    }

    /// Records one transaction (one request sent) and how long it took. Replies (registers or an
    /// exception) go into the latency histogram; timeouts and connection failures do not.
    func transaction(device: String, _ outcome: Result<Void, ModbusError>, duration: Duration, at time: Date = Date()) {
        let replied = update(device, at: time) { entry in
            var replied = true
            switch outcome {
            case .success:
                entry.status.transactions.ok += 1
            case let .failure(error):
                switch error {
                case .timeout:
                    entry.status.transactions.timeout += 1
                    replied = false
                case let .exception(exception): entry.status.transactions.exceptions[exception.code, default: 0] += 1
                case .badCRC: entry.status.transactions.badCRC += 1
                case .badResponse: entry.status.transactions.badResponse += 1
                case .transport, .setup:
                    entry.status.transactions.disconnected += 1
                    replied = false
                }
                entry.status.lastError = error.description
                entry.status.lastErrorTime = time
            }
            if replied {
                let micros = max(1, min(Self.histogramHighest, UInt64(max(0, duration.seconds * 1e6).rounded())))
                entry.latency.record(micros)
            }
            return replied
        }
        observer?.transaction(device: device, outcome: outcome, duration: duration, replied: replied)
    }

    /// Records a poll's outcome. (Its readings reach the status views through the pipeline,
    /// `LatestReadings`, which shows what was accepted, not what was polled.)
    func poll(_ result: PollResult) {
        observer?.poll(result)
        update(result.device, at: result.time) { entry in
            entry.status.lastPoll = result.time
            if result.skipped {
                entry.status.pollsSkipped += 1
            } else if result.failure != nil {
                entry.status.pollsFailed += 1
            } else {
                entry.status.pollsAnswered += 1
                entry.status.lastAnswer = result.time
            }
        }
    }

    /// Records the device's backoff state after a poll: failed polls in a row and, while backing
    /// off, when the next attempt is due.
    func backoff(device: String, failures: Int, nextTry: Date?) {
        update(device, at: Date()) { entry in
            entry.status.consecutiveFailures = failures
            entry.status.nextTry = nextTry
        }
    }

    /// Changes a device's entry where it lies: a copy taken out and put back would copy its
    /// histogram's 10 KB of counts at every transaction (the copy shares them until written).
    private func update<T>(_ device: String, at time: Date, _ change: (inout DeviceState) -> T) -> T {
        state.withLock { all in
            change(&all[device, default: DeviceState(status: DeviceStatus(device: device, updated: time))])
        }
    }

    /// The transaction counters of one device.
    public subscript(device: String) -> TransactionCounts {
        state.withLock { $0[device]?.status.transactions ?? TransactionCounts() }
    }

    /// A snapshot of every device that has recorded anything, by device id.
    public func snapshot(at time: Date = Date()) -> [String: DeviceStatus] {
        state.withLock { all in
            all.mapValues { entry in
                var status = entry.status
                status.updated = time
                status.latency = Self.summary(entry.latency)
                return status
            }
        }
    }

    /// The status of one device (nil when nothing was recorded for it).
    public func status(of device: String, at time: Date = Date()) -> DeviceStatus? {
        state.withLock { all in
            all[device].map { entry in
                var status = entry.status
                status.updated = time
                status.latency = Self.summary(entry.latency)
                return status
            }
        }
    }

    private static func summary(_ histogram: Histogram<UInt32>) -> LatencySummary? {
        guard histogram.totalCount > 0 else { return nil }
        return LatencySummary(
            count: Int(histogram.totalCount), p50: Double(histogram.valueAtPercentile(50)) / 1e6,
            p99: Double(histogram.valueAtPercentile(99)) / 1e6, max: Double(histogram.maxRecorded) / 1e6)
    }
}
