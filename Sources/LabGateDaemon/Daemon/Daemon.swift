import Foundation
import LabGate
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
        /// Maps control-socket peers to users and groups (the system's databases by default).
        public var identities: any IdentityResolver

        public init(
            printReadings: Bool = false, flushInterval: Duration = .seconds(1), statusInterval: Duration = .seconds(2),
            identities: any IdentityResolver = SystemIdentityResolver()
        ) {
            self.printReadings = printReadings
            self.flushInterval = flushInterval
            self.statusInterval = statusInterval
            self.identities = identities
        }
    }

    public let config: Config
    public let store: ReadingStore
    public let writer: ReadingWriter
    public let alerts: AlertLog
    public let counters: PollCounters
    /// Prometheus metrics, kept only when the config has an HTTP listener to serve them.
    public let metrics: DaemonMetrics?
    public let started = Date()
    public let registry: LotRegistry
    public let deviations: DeviationBook
    public let progress = DeviationProgress()
    /// The latest readings the pipeline accepted, for the status views; kept across reloads.
    public let readings = LatestReadings()
    /// The control socket, or nil when the config names none and the default folder is missing.
    public let control: String?
    private let options: Options
    private let logger: Logger
    private let user = SystemIdentityResolver.currentUser

    /// Opens the store and alert log and checks the control socket's place; fails with the path
    /// at fault before anything is polled.
    public init(config: Config, options: Options = Options(), logger: Logger) throws(StartupError) {
        self.config = config
        self.options = options
        self.logger = logger
        if let path = config.control {
            try ControlServer.checkPath(path)
            control = path
        } else if (try? StartupError.checkWritableFolder(of: Config.defaultControl, what: "control socket")) != nil {
            try ControlServer.checkPath(Config.defaultControl)
            control = Config.defaultControl
        } else {
            control = nil
        }
        if let http = config.http { try HTTPServer.checkAddress(http) }
        metrics = config.http == nil ? nil : DaemonMetrics(startTime: started)
        counters = PollCounters(observer: metrics)
        self.alerts = try AlertLog(folder: config.alerts)
        self.store = try ReadingStore(path: config.store)
        self.writer = ReadingWriter(store: store, capacity: config.storeBuffer, user: user, observer: metrics)
        do {
            registry = LotRegistry(events: try store.pool.read { db in try LotEvent.fetchAll(db) })
        } catch {
            throw StartupError("cannot read lots from \(config.store): \(error)")
        }
        deviations = DeviationBook(store: store, daemonUser: user)
    }

    /// Runs until a signal stops it, then returns once every accepted reading is written.
    /// SIGHUP reloads the config file: a valid one is swapped in whole (the running generation
    /// drains and a new one starts on it), a broken one is refused and the running one kept.
    public func run() async throws {
        try await audit("daemon_started", object: "daemon", new: await anchor(SealAnchor(seal: 0, sealHash: "", pid: getpid(), site: config.site)))
        try await auditLoad(config)
        logger.info("labgate started: site \(config.site), \(config.devices.count) devices on \(config.buses.count) buses, store \(config.store), alerts \(config.alerts)")
        if control == nil {
            let folder = (Config.defaultControl as NSString).deletingLastPathComponent
            logger.warning("no control socket: the config names none and \(folder) does not exist (lots cannot be managed)")
        }
        var current = config
        while let next = try await runGeneration(current) {
            current = next
            try await auditLoad(current)
            logger.notice("config \(current.file) reloaded: \(current.devices.count) devices on \(current.buses.count) buses")
        }
        logShutdownCounters(current)
        let written = await writer.written
        try await audit("daemon_stopped", object: "daemon", new: await anchor(SealAnchor(seal: 0, sealHash: "", readingsWritten: written)))
        logger.info("labgate stopped: \(written) readings written")
    }

    /// Runs the services for one config until SIGTERM/SIGINT (returns nil) or a SIGHUP with a
    /// valid new config (returns it, once this generation has drained).
    private func runGeneration(_ config: Config) async throws -> Config? {
        let echo: (@Sendable (PollResult) -> Void)?
        if options.printReadings {
            let formatter = ReadingEcho(config: config)
            echo = { formatter.print($0) }
        } else {
            echo = nil
        }
        let engineState = try await deviations.engineState()
        let pipeline = ReadingPipeline(
            writer: writer, alerts: alerts, config: config, registry: registry, deviations: deviations,
            engineState: engineState, progress: progress, latest: readings, flushInterval: options.flushInterval, echo: echo, logger: logger)
        let notifier = SystemdNotifier()
        let heartbeat = SchedulerHeartbeat()
        let readyStatus = "polling \(config.devices.count) devices on \(config.buses.count) buses"
        let polling = PollingService(
            config: config, deliver: pipeline.deliver, end: pipeline.endOfInput, counters: counters, heartbeat: heartbeat, logger: logger,
            started: {
                notifier.ready(status: readyStatus)
                heartbeat.markStarted()
            })
        let status = StatusService(
            counters: counters, readings: readings, store: store, devices: config.devices.map(\.id), interval: options.statusInterval,
            logger: logger)
        let deviations = deviations
        let watchdog = WatchdogService(
            notifier: notifier, heartbeat: heartbeat,
            status: {
                let open = (try? await deviations.list(openOnly: true).count).map { "\($0) open deviation(s)" } ?? "deviations unknown"
                return "\(readyStatus); \(open)"
            },
            statusEvery: options.statusInterval, logger: logger)
        let adapters = AdapterWatchService(buses: polling.owners, logger: logger)
        // Stopped in reverse order: the watchdog says STOPPING first, then polling stops, then the
        // pipeline drains and flushes, then the HTTP listener and the control socket close and the
        // last status is written. Each service is named: without a name, ServiceLifecycle names it
        // "\(service)", which reflects the whole value (the config's 250 devices, their pollers:
        // 40 % of startup).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: status, serviceName: "status")]
        if let control {
            services.append(.init(service: ControlServer(
                path: control, config: config, store: store, registry: registry, deviations: deviations, alerts: alerts,
                progress: progress, resolver: options.identities, logger: logger), serviceName: "control"))
        }
        if let http = config.http, let metrics {
            metrics.configure(config)
            let sources = HTTPServer.Sources(
                config: config, counters: counters, readings: readings, metrics: metrics, registry: registry, deviations: deviations,
                progress: progress, writer: writer, started: started)
            services.append(.init(service: HTTPServer(settings: http, sources: sources, logger: logger), serviceName: "http"))
        }
        services.append(.init(service: pipeline, serviceName: "pipeline"))
        services.append(.init(service: polling, serviceName: "polling"))
        services.append(.init(service: adapters, successTerminationBehavior: .ignore, serviceName: "adapters"))
        services.append(.init(service: ClockWatchService(alerts: alerts, logger: logger, audit: { action, object, new in
            try? await self.audit(action, object: object, new: new)
        }), serviceName: "clock"))
        services.append(.init(service: watchdog, serviceName: "watchdog"))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let reload = ConfigReload(
            running: config, alerts: alerts, logger: logger,
            audit: { action, object, new in try? await self.audit(action, object: object, new: new) },
            lotsInside: { [registry] in registry.lotsInside },
            openDeviations: { [deviations] in
                try? await deviations.list(openOnly: true).filter { $0.end == nil }
                    .map { ReloadGuard.OpenDeviation(id: $0.id, device: $0.device, channel: $0.channel) }
            })
        let listener = Task {
            guard let next = await reload.nextValidConfig() else { return nil as Config? }
            notifier.reloading()
            await group.triggerGracefulShutdown()
            return next
        }
        try await group.run()
        listener.cancel()
        return await listener.value
    }

    private func auditLoad(_ config: Config) async throws {
        let configHash = FieldDigest.file(config.file) ?? "unreadable"
        let draft = AuditEntry.Draft(
            user: user, action: "config_loaded", object: "config \(config.file)",
            new: AuditJSON.encode(["sha256": configHash, "site": config.site]))
        // With the load, what the numbers mean from now on: each series' field, each spec.
        try await store.pool.write { [user] db in
            _ = try AuditTrail.append(draft, db: db)
            try DefinitionRecord.record(config, user: user, reason: "config \(config.file) loaded", db: db)
        }
    }

    private func logShutdownCounters(_ config: Config) {
        for device in config.devices {
            let status = counters.status(of: device.id) ?? DeviceStatus(device: device.id, updated: Date())
            let count = status.transactions
            var text = "\(device.id): \(count.ok) ok, \(count.timeout) timeouts, \(count.badCRC) CRC errors, "
                + "\(count.badResponse) bad replies, \(count.disconnected) connection errors"
            for (code, n) in count.exceptions.sorted(by: { $0.key < $1.key }) { text += ", \(n) × exception \(code)" }
            if status.pollsSkipped > 0 { text += "; \(status.pollsSkipped) slots skipped in backoff" }
            if let latency = status.latency {
                text += "; reply time p50 \(ElapsedText.milliseconds(latency.p50))"
                    + " p99 \(ElapsedText.milliseconds(latency.p99))"
            }
            if let last = status.lastError { text += "; last error: \(last)" }
            logger.info("\(text)")
        }
        logger.info("\(Self.scheduleLine(counters.scheduleSummary))")
    }

    /// The schedule's record at stop: polls started, how late against their slots, slots missed.
    static func scheduleLine(_ summary: ScheduleSummary) -> String {
        var text = "schedule: \(summary.polls) polls started"
        if let lateness = summary.lateness {
            text += ", lateness against their slots p50 \(ElapsedText.milliseconds(lateness.p50))"
                + " p99 \(ElapsedText.milliseconds(lateness.p99)) max \(ElapsedText.milliseconds(lateness.max))"
        }
        return text + "; \(summary.missedSlots) slots missed"
    }

    private func audit(_ action: String, object: String, new: String) async throws {
        let draft = AuditEntry.Draft(user: user, action: action, object: object, new: new)
        try await store.pool.write { db in _ = try AuditTrail.append(draft, db: db) }
    }

    /// `fields` with the head of the reading seals.
    private func anchor(_ fields: SealAnchor) async throws -> String {
        let head = try await store.pool.read { db in try ReadingSeal.head(db: db) }
        var fields = fields
        fields.seal = head.id
        fields.sealHash = head.hash
        return AuditJSON.encode(fields)
    }
}
