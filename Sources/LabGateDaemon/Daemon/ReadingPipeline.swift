import Foundation
import LabGate
import Logging
import ServiceLifecycle

/// Everything after polling, in the order data flows: tag, store, evaluate, alert. What it takes
/// and tags is what the status views show as the latest readings (`LatestReadings`). It consumes the
/// pollers' stream until it ends (so on shutdown every accepted reading is written), flushing
/// the writer at least once per `flushInterval` meanwhile.
///
/// Each poll's readings are tagged with the lots inside the device at the poll's time, handed to
/// the writer, then evaluated twice: against the equipment limits for alerts (`Evaluator`) and
/// against the lots' specs for deviations (`DeviationEngine`). A deviation change gets its id from
/// the `DeviationLedger` and is alerted at once; it goes to the writer after the readings that
/// caused it, with the engine's state, and is committed when the store can be written. Nothing
/// here waits for the store: a locked, full, read-only or failing store delays the record, never
/// an alert.
public struct ReadingPipeline: Service {
    private let inbox = PipelineInbox()
    private let writer: any ReadingSink
    private let alerts: AlertLog
    private let config: Config
    private let registry: LotRegistry
    private let deviations: DeviationLedger?
    private let progress: DeviationProgress
    private let latest: LatestReadings
    private let echo: (@Sendable (PollResult) -> Void)?
    private let flushInterval: Duration
    private let logger: Logger

    /// The shortest time between two looks into the inbox: polls arriving faster than this are
    /// taken together, at most this much later, instead of waking the pipeline for each (which
    /// cost a device polled back to back a third of its bus thread's time: BENCHMARKS.md, Modbus
    /// TCP polling). The alert latency target (poll interval + 50 ms) leaves room for it.
    static let coalescing = Duration.milliseconds(1)

    public init(
        writer: any ReadingSink, alerts: AlertLog, config: Config,
        registry: LotRegistry = LotRegistry(), deviations: DeviationLedger? = nil,
        progress: DeviationProgress = DeviationProgress(), latest: LatestReadings = LatestReadings(),
        flushInterval: Duration = .seconds(1), echo: (@Sendable (PollResult) -> Void)? = nil, logger: Logger
    ) {
        self.writer = writer
        self.alerts = alerts
        self.config = config
        self.registry = registry
        self.deviations = deviations
        self.progress = progress
        self.latest = latest
        self.echo = echo
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Hands the pipeline a poll or a bus change (from any thread; it never blocks).
    public func deliver(_ event: PollingEvent) {
        inbox.deliver(event)
    }

    /// No more events will come: the pipeline takes what it has, flushes and returns.
    public func endOfInput() {
        inbox.end()
    }

    /// What the pipeline's own timer does every `flushInterval` (flush the writer, let the
    /// deviation engine see time pass), for tests that drive time by hand with an interval longer
    /// than the test.
    func tick() {
        inbox.tick()
    }

    public func run() async {
        let inbox = inbox
        let interval = flushInterval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                inbox.tick()
            }
        }
        let clock = ContinuousClock()
        var lastLook = clock.now - Self.coalescing
        var evaluator = Evaluator(config: config)
        var engine = DeviationEngine(config: config, state: deviations?.engineState)
        var ticks = 0
        // Whether any deviation is open: the set changes only with the engine's changes, so the
        // live progress (a walk over every channel's state) is refreshed only while one is open
        // or after a change, not after every poll of a quiet site.
        var anyOpen = !engine.openDeviations.isEmpty
        func refreshProgress(_ changed: Bool) {
            if changed { anyOpen = !engine.openDeviations.isEmpty }
            if changed || anyOpen { progress.update(from: engine) }
        }
        while true {
            let due = lastLook + Self.coalescing
            if clock.now < due { try? await clock.sleep(until: due) }
            lastLook = clock.now
            guard let batch = await inbox.take() else { break }
            // Each poll's readings carry the lots inside its device when it was taken (by the order
            // of lot actions, on the monotonic clock: a wall-clock step moves no lot); the batch
            // goes to the writer at once, before any deviation change it causes.
            var readings: [Reading] = []
            let tagged = batch.events.map { event -> (event: PollingEvent, exposure: [LotSpec]) in
                guard case var .poll(poll) = event else { return (event, []) }
                let exposure = registry.inside(device: poll.device, at: poll.instant)
                let lots = exposure.map(\.lot)
                for index in poll.readings.indices { poll.readings[index].lots = lots }
                readings += poll.readings
                return (.poll(poll), exposure)
            }
            // Accepted: from here on the status views show them.
            latest.record(readings)
            if !readings.isEmpty { await writer.accept(readings) }
            for (event, exposure) in tagged {
                guard case let .poll(poll) = event else {
                    evaluator.evaluate(event).forEach(raise)
                    continue
                }
                echo?(poll)
                if let failure = poll.failure {
                    logger.debug("poll of \(poll.device) failed: \(failure)")
                }
                evaluator.evaluate(event).forEach(raise)
                let changes = engine.evaluate(poll, exposure: exposure)
                await record(changes, engine: &engine, save: false)
                refreshProgress(!changes.isEmpty)
            }
            if batch.ticks > 0 {
                await writer.startFlush()
                let before = ticks
                ticks += batch.ticks
                let registry = registry
                // Time passes for runs and gaps even when no reading comes (a dead device).
                evaluator.tick().forEach(raise)
                let changes = engine.tick { registry.inside(device: $0) }
                // Progress (last valid readings, worst values) is saved every few seconds; runs
                // that begin or end and every deviation change are saved at once.
                await record(changes, engine: &engine, save: engine.dirty && ticks / 5 > before / 5)
                refreshProgress(!changes.isEmpty)
            }
            await reportStoreHealth()
        }
        ticker.cancel()
        await record([], engine: &engine, save: true)
        // One last commit unless the store is failing: then what is held stays with the writer
        // (the daemon's next generation, or its bounded drain at stop, writes it) and a reload
        // does not wait on the store.
        if await !writer.isFailing {
            do {
                try await writer.flush()
            } catch {
                logger.debug("store write failed, kept in memory: \(error)")
            }
        }
        await reportStoreHealth()
    }

    /// Gives new deviations their ids, alerts every change at once, then hands the changes and
    /// the engine's state to the writer, after the readings that caused them.
    private func record(_ changes: [DeviationEngine.Change], engine: inout DeviationEngine, save: Bool) async {
        guard let deviations, !changes.isEmpty || engine.urgent || save else { return }
        let (resolved, unknown) = deviations.resolve(changes, engine: &engine)
        for id in unknown {
            logger.critical("deviation engine changed \(id), which neither the store nor this daemon holds open")
        }
        for change in resolved {
            switch change {
            case let .opened(record): raise(DeviationAlerts.opened(record))
            case let .lotsAdded(record, added): raise(DeviationAlerts.lotsAdded(record, added: added))
            case let .recovered(record): raise(DeviationAlerts.recovered(record))
            }
            await writer.hold(deviations.book.storeRecord(change))
        }
        let state = engine.snapshot()
        deviations.engineState = state
        await writer.hold(deviations.book.stateRecord(state))
        if !resolved.isEmpty { await writer.startFlush() }
    }

    private func raise(_ event: AlertEvent) {
        let text = "\(event.event.rawValue) \(AlertFormatter.summary(event))"
        switch event.severity {
        case .critical: logger.critical("\(text)")
        case .warning: logger.warning("\(text)")
        case .info: logger.notice("\(text)")
        }
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: \(text)")
        }
    }

    /// Says once when the store stops taking writes (journal, critical, and the alert log if it
    /// can) and once when it takes them again.
    private func reportStoreHealth() async {
        switch await writer.takeHealthChange() {
        case let .failing(since, error, held)?:
            raise(AlertEvent(
                time: since, severity: .critical, event: .storeFailing, device: "labgate",
                detail: "cannot write \(config.store): \(error); holding \(held) readings in memory (up to \(config.storeBuffer)), with deviation changes and audit entries, and retrying every \(DurationText.format(flushInterval))"))
        case let .recovered(since, written, lost)?:
            let losses = lost == 0
                ? "nothing lost" : "\(lost) readings did not fit in memory and are lost: audited as readings_lost"
            raise(AlertEvent(
                time: Date(), severity: lost == 0 ? .info : .critical, event: .storeRecovered, device: "labgate",
                since: since, detail: "\(config.store) writable again: \(written) held readings written; \(losses)"))
        case nil:
            break
        }
    }
}
