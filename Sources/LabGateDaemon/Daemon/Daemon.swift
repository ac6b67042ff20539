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
        /// How long a stop keeps trying to write what the store has not taken yet (a commit under
        /// way then may add its busy timeout, 5 s): well within systemd's TimeoutStopSec (30 s).
        public var stopGrace: Duration
        /// Gathering, retries and backoff of notifications.
        public var notify: Notifier.Options

        public init(
            printReadings: Bool = false, flushInterval: Duration = .seconds(1), statusInterval: Duration = .seconds(2),
            identities: any IdentityResolver = SystemIdentityResolver(), stopGrace: Duration = .seconds(10),
            notify: Notifier.Options = Notifier.Options()
        ) {
            self.notify = notify
            self.printReadings = printReadings
            self.flushInterval = flushInterval
            self.statusInterval = statusInterval
            self.identities = identities
            self.stopGrace = stopGrace
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
    /// Where the end of the record is anchored outside the store.
    public let anchors: AnchorWriter
    public let deviations: DeviationBook
    public let progress = DeviationProgress()
    /// The latest readings the pipeline accepted, for the status views; kept across reloads.
    public let readings = LatestReadings()
    /// The control socket, or nil when the config names none and the default folder is missing.
    public let control: String?
    private let options: Options
    let logger: Logger
    let user = SystemIdentityResolver.currentUser

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
        self.store = try SystemdNotifier().extendingStartTimeout(
            status: "opening the store \(config.store) (a schema migration on a big store takes minutes)"
        ) { () throws(StartupError) in try ReadingStore(path: config.store) }
        self.writer = ReadingWriter(store: store, capacity: config.storeBuffer, user: user, observer: metrics)
        do {
            registry = LotRegistry(events: try store.pool.read { db in try LotEvent.fetchAll(db) })
        } catch {
            throw StartupError("cannot read lots from \(config.store): \(error)")
        }
        deviations = DeviationBook(store: store, daemonUser: user)
        anchors = AnchorWriter(config: config, logger: logger)
        // Each lot and deviation action is anchored as soon as it is committed.
        store.heads.onRecordChange { [anchors] heads, reason in anchors.write(heads, reason: reason) }
    }

    /// Runs until a signal stops it, then returns once every accepted reading is written, or, when
    /// the store cannot be written, once `stopGrace` has passed, saying what is lost.
    /// SIGHUP reloads the config file: a valid one is swapped in whole (the running generation
    /// drains and a new one starts on it), a broken one is refused and the running one kept.
    /// The daemon's own audit entries go through the writer like everything it records: a store
    /// that cannot take them delays them, never the daemon.
    public func run() async throws {
        let ledger: DeviationLedger
        do {
            ledger = try await DeviationLedger.load(book: deviations, alertLog: alerts.jsonPath)
        } catch {
            throw StartupError("cannot read deviations from \(config.store): \(error)")
        }
        await record(.anchoredAudit(
            user: user, action: "daemon_started", object: "daemon",
            fields: SealAnchor(seal: 0, sealHash: "", pid: getpid(), site: config.site)))
        await auditLoad(config)
        if let heads = store.heads.heads { anchors.write(heads, reason: "started") }
        logger.info("labgate started: site \(config.site), \(config.devices.count) devices on \(config.buses.count) buses, store \(config.store), alerts \(config.alerts), anchors to \(anchors.sinks)")
        if !store.isWritable {
            logger.critical("store \(config.store) cannot be written now (locked by another process?): polling anyway, holding readings and records in memory and opening it for writing as soon as it can be")
        }
        if control == nil {
            let folder = (Config.defaultControl as NSString).deletingLastPathComponent
            logger.warning("no control socket: the config names none and \(folder) does not exist (lots cannot be managed)")
        }
        // Notification lives across generations: its alarms and their repeats go on through a
        // reload. It hears every event the alert log writes, whoever writes it.
        let notifier = await Notifier.load(
            config: config, store: store, writer: writer, alerts: alerts, user: user, metrics: metrics, options: options.notify,
            logger: logger)
        // Weak: the notifier holds the alert log, and the store must close when the daemon ends
        // (the last connection's checkpoint leaves a complete main file).
        alerts.observe { [weak notifier] event in notifier?.enqueue(event) }
        // Relay channels are written by the running generation's bus owners, between their polls.
        let relays = GenerationOutputs()
        await notifier.setRelayDriver { output, on in try await relays.write(output, on: on) }
        let notifying = Task { await notifier.run() }
        var current = config
        while let next = try await runGeneration(current, ledger: ledger, notifications: notifier, relays: relays) {
            current = next
            await notifier.reconfigure(current)
            await auditLoad(current)
            logger.notice("config \(current.file) reloaded: \(current.devices.count) devices on \(current.buses.count) buses")
        }
        logShutdownCounters(current)
        // What is gathering goes out; deliveries under way get a few seconds (their records are
        // written with everything else below).
        await notifier.stop(within: .seconds(5))
        notifying.cancel()
        // Everything accepted is written before daemon_stopped (the writer keeps their order).
        let accepted = await writer.written + writer.pendingCount
        await writer.hold(.anchoredAudit(
            user: user, action: "daemon_stopped", object: "daemon",
            fields: SealAnchor(seal: 0, sealHash: "", readingsWritten: accepted)))
        if await writer.drain(within: options.stopGrace) {
            let written = await writer.written
            logger.info("labgate stopped: \(written) readings written")
        } else {
            reportUnwritten(await writer.unwritten())
        }
        if let heads = store.heads.heads { anchors.write(heads, reason: "stopped") }
        await anchors.flush()
    }

    /// Stopping with a store that still refuses writes: what is lost, in the journal and the alert log.
    private func reportUnwritten(_ left: ReadingWriter.Unwritten) {
        var parts = ["\(left.readings) readings"]
        if !left.records.isEmpty { parts.append("\(left.records.count) records (\(left.records.joined(separator: "; ")))") }
        if left.lostReadings > 0 { parts.append("the audit of \(left.lostReadings) readings already dropped") }
        if !left.lostRecords.isEmpty { parts.append("the audit of \(left.lostRecords.count) records already dropped") }
        let text = "stopping after \(DurationText.format(options.stopGrace)) of retries: \(config.store) did not take "
            + parts.joined(separator: ", ") + "; they are lost"
        logger.critical("store_unwritten \(text)")
        do {
            try alerts.write(AlertEvent(time: Date(), severity: .critical, event: .storeUnwritten, device: "labgate", detail: text))
        } catch {
            logger.critical("\(error)")
        }
    }

    /// Runs the services for one config until SIGTERM/SIGINT (returns nil) or a SIGHUP with a
    /// valid new config (returns it, once this generation has drained).
    private func runGeneration(
        _ config: Config, ledger: DeviationLedger, notifications: Notifier, relays: GenerationOutputs
    ) async throws -> Config? {
        anchors.use(config)
        let echo: (@Sendable (PollResult) -> Void)?
        if options.printReadings {
            let formatter = ReadingEcho(config: config)
            echo = { formatter.print($0) }
        } else {
            echo = nil
        }
        // The engine goes on from the state the last generation left (the ledger's, which the
        // store may not have yet).
        let pipeline = ReadingPipeline(
            writer: writer, alerts: alerts, config: config, registry: registry, deviations: ledger, progress: progress, latest: readings, flushInterval: options.flushInterval, echo: echo, logger: logger)
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
            logger: logger, storeFailing: { [writer] in await writer.isFailing })
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
        let siteLots = siteLots(config)
        if let control {
            services.append(.init(service: ControlServer(
                path: control, config: config, store: store, registry: registry, deviations: deviations, alerts: alerts,
                progress: progress, resolver: options.identities, notifier: notifications,
                anchorSources: anchors.sources, siteLots: siteLots, logger: logger),
                serviceName: "control"))
        }
        if let http = config.http, let metrics {
            metrics.configure(config)
            metrics.configureNotify(config)
            var sources = HTTPServer.Sources(
                config: config, counters: counters, readings: readings, metrics: metrics, registry: registry, deviations: deviations,
                progress: progress, writer: writer, started: started)
            sources.siteStatus = siteStatusReader(config)
            sources.silentAfter = config.siteStore?.silentAfter ?? .seconds(300)
            services.append(.init(service: HTTPServer(settings: http, sources: sources, logger: logger), serviceName: "http"))
        }
        services.append(.init(service: pipeline, serviceName: "pipeline"))
        services.append(.init(service: polling, serviceName: "polling"))
        if let failSafe = config.notify?.failSafe {
            // Stops before polling does: a stop leaves the coil to the module's watchdog.
            let service = FailSafeService(
                outputs: polling.outputs, device: failSafe.device, coil: failSafe.coil, every: failSafe.every,
                healthy: { heartbeat.isHealthy() }, logger: logger)
            services.append(.init(service: service, serviceName: "fail-safe"))
        }
        services.append(.init(service: adapters, successTerminationBehavior: .ignore, serviceName: "adapters"))
        services.append(.init(service: ClockWatchService(alerts: alerts, logger: logger, audit: { action, object, new in
            await self.audit(action, object: object, new: new)
        }), serviceName: "clock"))
        services.append(.init(service: AnchorService(
            store: store, anchors: anchors, interval: config.anchorInterval, alerts: alerts, logger: logger,
            audit: { action, object, new in await self.audit(action, object: object, new: new) }), serviceName: "anchors"))
        if let forwarder = forwarder(config, siteLots: siteLots) {
            services.append(.init(service: forwarder, serviceName: "forward"))
        }
        if let after = config.archiveAfter {
            let options = MonthArchiver.Options(after: after, requireSiteConfirmation: config.siteStore != nil)
            services.append(.init(service: ArchiveService(store: store, options: options, logger: logger), serviceName: "archive"))
        }
        if let watch = gatewayWatch(config) {
            services.append(.init(service: watch, serviceName: "gateway-watch"))
        }
        services.append(.init(service: watchdog, serviceName: "watchdog"))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let reload = ConfigReload(
            running: config, alerts: alerts, logger: logger,
            audit: { action, object, new in await self.audit(action, object: object, new: new) },
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
        relays.set(polling.outputs)
        // Once its bus owners have stopped, a switch waits for the next generation's.
        defer { relays.set(nil) }
        try await group.run()
        listener.cancel()
        return await listener.value
    }

    private func auditLoad(_ config: Config) async {
        let configHash = FieldDigest.file(config.file) ?? "unreadable"
        let draft = AuditEntry.Draft(
            user: user, action: "config_loaded", object: "config \(config.file)",
            new: AuditJSON.encode(["sha256": configHash, "site": config.site]))
        // With the load, what the numbers mean from now on: each series' field, each spec. Held
        // with the entry, as one record, while the store cannot take them.
        // A site that lets one person acknowledge and close a deviation says so in the trail at
        // every load, where an inspector reads it.
        let separationOff = SeparationOfDuties.loadEntry(config, user: user)
        await record(StoreRecord(summary: "config_loaded config \(config.file)") { [user] db in
            _ = try AuditTrail.append(draft, db: db)
            if let separationOff { _ = try AuditTrail.append(separationOff, db: db) }
            try DefinitionRecord.record(config, user: user, reason: "config \(config.file) loaded", db: db)
        })
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

    private func audit(_ action: String, object: String, new: String) async {
        await record(.audit(AuditEntry.Draft(user: user, action: action, object: object, new: new)))
    }

    /// Hands a record to the writer, committed in order with the readings as soon as the store
    /// takes it.
    private func record(_ record: StoreRecord) async {
        await writer.hold(record)
        await writer.startFlush()
    }
}
