import Foundation
import Logging
import ServiceLifecycle

/// The daemon, assembled from a validated config: pollers feeding the reading pipeline, under a
/// service group that stops them in order on SIGTERM or SIGINT (pollers first, then the pipeline
/// drains and flushes). The CLI and the tests build it the same way.
public struct Daemon: Sendable {
    public struct Options: Sendable {
        /// Prints each poll to stdout as it is accepted (for a terminal; systemd runs without it).
        public var printReadings = false
        public var flushInterval: Duration = .seconds(1)
        /// How often every device's diagnostics are written to the store (`labgate status`).
        public var statusInterval: Duration = .seconds(2)

        public init(printReadings: Bool = false, flushInterval: Duration = .seconds(1), statusInterval: Duration = .seconds(2)) {
            self.printReadings = printReadings
            self.flushInterval = flushInterval
            self.statusInterval = statusInterval
        }
    }

    public let config: Config
    public let store: ReadingStore
    public let writer: ReadingWriter
    public let alerts: AlertLog
    public let counters = PollCounters()
    private let options: Options
    private let logger: Logger

    /// Opens the store and alert log; fails with the path at fault before anything is polled.
    public init(config: Config, options: Options = Options(), logger: Logger) throws(StartupError) {
        self.config = config
        self.options = options
        self.logger = logger
        self.alerts = try AlertLog(folder: config.alerts)
        self.store = try ReadingStore(path: config.store)
        self.writer = ReadingWriter(store: store)
    }

    /// Runs until a signal stops it, then returns once every accepted reading is written.
    public func run() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: PollingEvent.self)
        let echo: (@Sendable (PollResult) -> Void)?
        if options.printReadings {
            let formatter = ReadingEcho(config: config)
            echo = { formatter.print($0) }
        } else {
            echo = nil
        }
        let pipeline = ReadingPipeline(
            input: stream, writer: writer, alerts: alerts, config: config, flushInterval: options.flushInterval,
            echo: echo, logger: logger)
        let notifier = SystemdNotifier()
        let heartbeat = SchedulerHeartbeat()
        let readyStatus = "polling \(config.devices.count) devices on \(config.buses.count) buses"
        let polling = PollingService(
            config: config, output: continuation, counters: counters, heartbeat: heartbeat, logger: logger,
            started: {
                notifier.ready(status: readyStatus)
                heartbeat.markStarted()
            })
        let status = StatusService(
            counters: counters, store: store, devices: config.devices.map(\.id), interval: options.statusInterval,
            logger: logger)
        let watchdog = WatchdogService(notifier: notifier, heartbeat: heartbeat, logger: logger)
        let adapters = AdapterWatchService(buses: polling.owners, logger: logger)
        // Stopped in reverse order: the watchdog says STOPPING first, then polling stops, then
        // the pipeline drains and flushes, then the last device status is written.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: status),
                    .init(service: pipeline),
                    .init(service: polling),
                    .init(service: adapters, successTerminationBehavior: .ignore),
                    .init(service: watchdog),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info("labgate started: site \(config.site), \(config.devices.count) devices on \(config.buses.count) buses, store \(config.store), alerts \(config.alerts)")
        try await group.run()
        for device in config.devices {
            let status = counters.status(of: device.id) ?? DeviceStatus(device: device.id, updated: Date())
            let count = status.transactions
            var text = "\(device.id): \(count.ok) ok, \(count.timeout) timeouts, \(count.badCRC) CRC errors, "
                + "\(count.badResponse) bad replies, \(count.disconnected) connection errors"
            for (code, n) in count.exceptions.sorted(by: { $0.key < $1.key }) { text += ", \(n) × exception \(code)" }
            if status.pollsSkipped > 0 { text += "; \(status.pollsSkipped) slots skipped in backoff" }
            if let latency = status.latency {
                text += "; reply time p50 \(DeviceStatusReport.milliseconds(latency.p50))"
                    + " p99 \(DeviceStatusReport.milliseconds(latency.p99))"
            }
            if let last = status.lastError { text += "; last error: \(last)" }
            logger.info("\(text)")
        }
        let written = await writer.written
        logger.info("labgate stopped: \(written) readings written")
    }
}
