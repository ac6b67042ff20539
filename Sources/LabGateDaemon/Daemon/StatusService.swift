import Foundation
import LabGate
import Logging
import ServiceLifecycle

/// Writes every device's diagnostics (`PollCounters`) with the latest readings the pipeline
/// accepted (`LatestReadings`) to the store's `device_status` table every
/// `interval` and once more when it stops, so that `labgate status` can read them whether the
/// daemon runs or not. Listed before the pollers in the service group, it stops after them: the
/// last snapshot holds the last poll.
public struct StatusService: Service {
    private let counters: PollCounters
    private let readings: LatestReadings
    private let store: ReadingStore
    private let devices: [String]
    private let interval: Duration
    private let logger: Logger
    /// Whether the store is failing: no status is written then (each attempt would wait the
    /// store's busy timeout in the queue of its one writer, ahead of the held readings, and hold
    /// up a stop).
    private let storeFailing: @Sendable () async -> Bool

    public init(
        counters: PollCounters, readings: LatestReadings, store: ReadingStore, devices: [String], interval: Duration,
        logger: Logger, storeFailing: @escaping @Sendable () async -> Bool = { false }
    ) {
        self.storeFailing = storeFailing
        self.counters = counters
        self.readings = readings
        self.store = store
        self.devices = devices
        self.interval = interval
        self.logger = logger
    }

    public func run() async {
        let interval = interval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                await save()
            }
        }
        await save()
    }

    private func save() async {
        guard await !storeFailing() else { return }
        let now = Date()
        let snapshot = counters.snapshot(at: now)
        let channels = readings.snapshot()
        // Devices not polled yet get a row too, so that status shows them as such.
        let statuses = devices.map { device in
            var status = snapshot[device] ?? DeviceStatus(device: device, updated: now)
            status.channels = channels[device] ?? []
            return status
        }
        do {
            try await DeviceStatusStore.save(statuses, to: store)
        } catch {
            logger.error("cannot write device status to \(store.path): \(error)")
        }
    }
}
