import Foundation
import LabGate
import Logging
import Outbound

/// The daemon's side of notification: takes every event the alert log writes, runs the
/// `NotifyEngine` on the wall clock, delivers its notices through the channels (retried with
/// backoff, each attempt recorded and audited), drives relay outputs and Alertmanager's alerts
/// from the alarms' state, and stores the alarms as they change so a restart resumes them.
///
/// It lives as long as the daemon, across config reloads (`reconfigure`). Nothing here waits for
/// the store: records go to the writer.
public actor Notifier {
    public struct Options: Sendable {
        /// How long the first event waits for others to share its message.
        public var gathering: Duration
        /// How often due repeats, escalations and gathered notices are looked for.
        public var tick: Duration
        /// The wait after the k-th failed attempt: min(initial · 2^(k−1), maximum).
        public var retryBackoff: BackoffPolicy

        public init(
            gathering: Duration = NotifyEngine.defaultGathering, tick: Duration = .milliseconds(100),
            retryBackoff: BackoffPolicy = BackoffPolicy(initial: .seconds(1), maximum: .seconds(60))
        ) {
            self.gathering = gathering
            self.tick = tick
            self.retryBackoff = retryBackoff
        }
    }

    private var config: Config
    private var engine: NotifyEngine
    private var text: NoticeText
    private var channels: [String: any NotificationChannel] = [:]
    private var stateChannels: [String: any AlarmStateChannel] = [:]
    private var relay: RelayDriver?
    private let options: Options
    private let writer: any ReadingSink
    private let alerts: AlertLog
    private let user: String
    private let metrics: DaemonMetrics?
    private let logger: Logger
    /// Made with the first webhook or Alertmanager channel: AsyncHTTPClient's pool and code stay
    /// out of a daemon that posts nothing (its resident memory is measured, BENCHMARKS.md).
    private var poster: JSONPoster?
    private let smtp: SMTPClient
    /// The alarms as last saved (to tell a raise, a recovery and an acknowledgement apart).
    private var saved: [String: AlarmRecord] = [:]
    /// Per channel, its last success and failure.
    private var health: [String: ChannelHealth] = [:]
    /// Channels whose last notice failed after all its attempts (a later success is announced).
    private var failing: Set<String> = []
    private var inFlight: [UUID: Task<Void, Never>] = [:]
    private var lastStateSync = ContinuousClock.now
    private var warnedNoRelay = false
    private var records: [StoreRecord] = []
    private var handingOver = false
    private nonisolated let intake: AsyncStream<AlertEvent>.Continuation
    private let events: AsyncStream<AlertEvent>
    /// Wakes the tick loop when a reload brings a `notify` section: without one, nothing is ever
    /// due and the loop sleeps until then, rather than waking every `tick` for nothing.
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    /// Ticks run so far (how often the loop woke to look for due work).
    public private(set) var ticks = 0

    public init(
        config: Config, alarms: [AlarmRecord], highest: [Int: Int], writer: any ReadingSink, alerts: AlertLog, user: String,
        metrics: DaemonMetrics? = nil, options: Options = Options(), logger: Logger
    ) {
        self.config = config
        let settings = config.notify ?? NotifySettings(channels: [], rules: [])
        engine = NotifyEngine(settings: settings, alarms: alarms, highest: highest, gathering: options.gathering)
        text = NoticeText(config: config)
        self.options = options
        self.writer = writer
        self.alerts = alerts
        self.user = user
        self.metrics = metrics
        self.logger = logger
        smtp = SMTPClient()
        saved = Dictionary(alarms.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        (events, intake) = AsyncStream.makeStream(of: AlertEvent.self)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        poster = Self.needsPoster(settings) ? JSONPoster() : nil
        let (channels, stateChannels) = Self.makeChannels(settings, text: text, poster: poster, smtp: smtp)
        self.channels = channels
        self.stateChannels = stateChannels
        for channel in settings.channels { health[channel.id] = ChannelHealth(channel: channel.id) }
    }

    /// Loads the alarms not yet acknowledged from the store (none when it cannot be read: the
    /// daemon must start and alert all the same).
    public static func load(
        config: Config, store: ReadingStore, writer: any ReadingSink, alerts: AlertLog, user: String,
        metrics: DaemonMetrics?, options: Options = Options(), logger: Logger
    ) async -> Notifier {
        var open: [AlarmRecord] = []
        var highest: [Int: Int] = [:]
        do {
            (open, highest) = try await AlarmBook.load(store)
            if !open.isEmpty { logger.notice("notify: \(open.count) alarm(s) not yet acknowledged, resuming their repeats") }
        } catch {
            logger.critical("notify: cannot read alarms from \(config.store): \(error); starting without them")
        }
        let notifier = Notifier(
            config: config, alarms: open, highest: highest, writer: writer, alerts: alerts, user: user, metrics: metrics,
            options: options, logger: logger)
        var healthFromStore: [ChannelHealth] = []
        if let rows = try? await store.pool.read({ db in try NotificationLog.health(db: db) }) { healthFromStore = rows }
        await notifier.seedHealth(healthFromStore)
        if config.notify != nil {
            do {
                let orphans = try await store.pool.read { db in try AlarmBook.deviationsWithoutAlarm(db: db) }
                await notifier.resume(deviations: orphans)
            } catch {
                logger.critical("notify: cannot read deviations from \(config.store): \(error); unacknowledged deviations without an alarm were not looked for")
            }
        }
        return notifier
    }

    private func seedHealth(_ rows: [ChannelHealth]) {
        for row in rows where health[row.channel] != nil {
            health[row.channel] = row
            metrics?.notification(channel: row.channel, success: row.lastSuccess, failure: row.lastFailure)
        }
    }

    /// Hands an event to the notifier (from any thread; never blocks). The alert log calls it
    /// for every event it writes.
    public nonisolated func enqueue(_ event: AlertEvent) {
        intake.yield(event)
    }

    /// The relay outputs' writer (the bus owners'), set by the daemon for each config generation.
    public func setRelayDriver(_ driver: RelayDriver?) {
        relay = driver
        warnedNoRelay = false
    }

    /// A reloaded config: channels are rebuilt, new alarms follow the new rules.
    public func reconfigure(_ config: Config) {
        self.config = config
        let settings = config.notify ?? NotifySettings(channels: [], rules: [])
        engine.reconfigure(settings)
        text = NoticeText(config: config)
        if poster == nil, Self.needsPoster(settings) { poster = JSONPoster() }
        (channels, stateChannels) = Self.makeChannels(settings, text: text, poster: poster, smtp: smtp)
        var kept: [String: ChannelHealth] = [:]
        for channel in settings.channels { kept[channel.id] = health[channel.id] ?? ChannelHealth(channel: channel.id) }
        health = kept
        if config.notify != nil { wake.yield() }
    }

    /// Runs until cancelled: takes events as they come and looks for due work every `tick`
    /// while the config has a `notify` section (without one, it waits for a reload that brings it).
    public func run() async {
        let events = events
        let wakes = wakes
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events { await self.take(event) }
            }
            group.addTask {
                var woken = wakes.makeAsyncIterator()
                while !Task.isCancelled {
                    guard await self.notifies else {
                        // Ends (nil) when the task is cancelled.
                        guard await woken.next() != nil else { return }
                        continue
                    }
                    try? await Task.sleep(for: self.options.tick)
                    await self.tick()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// At stop: what is still gathering goes out now, and deliveries under way get up to `limit`
    /// to finish (their records go to the writer before it drains).
    public func stop(within limit: Duration) async {
        intake.finish()
        apply(engine.tick(now: Date().addingTimeInterval(options.gathering.seconds)))
        let tasks = Array(inFlight.values)
        let deadline = ContinuousClock.now + limit
        for task in tasks {
            if ContinuousClock.now >= deadline { task.cancel(); continue }
            let waiter = Task { await task.value }
            let timer = Task {
                try? await Task.sleep(until: deadline)
                task.cancel()
            }
            await waiter.value
            timer.cancel()
        }
    }

    // MARK: What the control socket asks

    public var openAlarms: [AlarmRecord] { engine.openAlarms }

    public var channelHealth: [ChannelHealth] {
        (config.notify?.channels ?? []).map { health[$0.id] ?? ChannelHealth(channel: $0.id) }
    }

    /// Relay channels whose output is on now.
    public var relaysOn: Set<String> { engine.relaysOn }

    /// An operator acknowledges an alarm: stored and audited with the comment, alerted as
    /// alarm_acknowledged; its repeats stop, its relays drop, Alertmanager ends it.
    /// `signature` (the user's, on this alarm) is written with the acknowledgement's record.
    public func acknowledge(
        _ id: String, user: String, comment: String, signature: SignatureGrant? = nil
    ) async throws(NotifyEngine.AckError) -> AlarmRecord {
        let (record, effects) = try engine.acknowledge(id, user: user, comment: comment, now: Date())
        apply(effects, signature: signature)
        raise(AlertEvent(
            time: Date(), severity: .info, event: .alarmAcknowledged, device: record.event.device,
            channel: record.event.channel, detail: "\(record.id) (\(record.event.event.rawValue)): \(comment)",
            lots: record.event.lots, user: user))
        return record
    }

    public enum TestError: Error, CustomStringConvertible {
        case unknownChannel(String, known: [String])
        case notWired(String)

        public var description: String {
            switch self {
            case .unknownChannel(let id, let known):
                "no notify channel '\(id)' (\(known.isEmpty ? "the config has no notify channels" : "known: " + known.joined(separator: ", ")))"
            case .notWired(let id): "relay channel \(id): relay outputs are not available in this daemon"
            }
        }
    }

    /// `labgate notify test CHANNEL`: one message through one channel (a relay is switched on for
    /// `pulse`, then back to what the alarms say), recorded and audited as the user's.
    public func test(_ id: String, user: String, pulse: Duration = .seconds(3)) async throws(TestError) -> NotificationAttempt {
        let settings = config.notify ?? NotifySettings(channels: [], rules: [])
        guard let channel = settings.channel(id) else {
            throw .unknownChannel(id, known: settings.channels.map(\.id))
        }
        let notice = Notice.test(channel: id, site: config.site, user: user, time: Date())
        var detail: String?
        var result = NotificationAttempt.Result.delivered
        do {
            if case .relay(let output) = channel.kind {
                guard let relay else { throw TestError.notWired(id) }
                try await relay(output, true)
                try? await Task.sleep(for: pulse)
                try await relay(output, engine.relaysOn.contains(id))
                detail = "switched on for \(DurationText.format(pulse))"
            } else if let deliverer = channels[id] {
                try await deliverer.deliver(notice)
            }
        } catch let error as TestError {
            throw error
        } catch {
            result = .failed
            detail = "\(error)"
        }
        let attempt = NotificationAttempt(
            time: Date(), channel: id, kind: channel.kind.name, recipients: channel.recipients, notice: notice, attempt: 1,
            result: result, detail: detail, user: user)
        note(attempt)
        keep(NotificationLog.record(attempt))
        return attempt
    }

    // MARK: The engine's effects

    private func take(_ event: AlertEvent) {
        apply(engine.take(event, now: Date()))
    }

    private var notifies: Bool { config.notify != nil }

    /// The one retry policy, for every channel (`notify.retries`; the backoff is `options`').
    private var retries: Int { config.notify?.retries ?? NotifySettings.defaultRetries }

    private func tick() {
        ticks += 1
        apply(engine.tick(now: Date()))
        if ContinuousClock.now - lastStateSync >= AlertmanagerChannel.refresh {
            lastStateSync = .now
            syncStateChannels(ended: [])
        }
    }

    private func apply(_ effects: [NotifyEngine.Effect], signature: SignatureGrant? = nil) {
        var ended: [AlarmRecord] = []
        var raisedNow = false
        for effect in effects {
            switch effect {
            case .save(let alarm):
                let before = saved[alarm.id]
                let action: String?
                if before == nil {
                    action = "alarm_raised"
                    raisedNow = true
                } else if alarm.ackedAt != nil && before?.ackedAt == nil {
                    action = "alarm_acknowledged"
                } else if alarm.recoveredAt != nil && before?.recoveredAt == nil {
                    action = "alarm_recovered"
                } else {
                    action = nil
                }
                if !alarm.isActive && (before?.isActive ?? true) { ended.append(alarm) }
                saved[alarm.id] = alarm.ackedAt == nil ? alarm : nil
                keep(AlarmBook.save(
                    alarm, audit: action, user: user, signature: action == "alarm_acknowledged" ? signature : nil))
            case .send(let notice):
                start { await self.deliver(notice) }
            case .relay(let channel, let on):
                start { await self.switchRelay(channel, on: on) }
            }
        }
        if !ended.isEmpty || raisedNow { syncStateChannels(ended: ended) }
    }

    /// Queues a record for the writer in the order the effects came (a task per record could
    /// reorder two saves of one alarm).
    private func keep(_ record: StoreRecord) {
        records.append(record)
        guard !handingOver else { return }
        handingOver = true
        start { await self.handOver() }
    }

    /// Waits until what was queued so far is with the writer and committed (throws while the
    /// store refuses writes: the records stay held and are written when it takes them).
    public func persisted() async throws {
        while handingOver || !records.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        try await writer.flush()
    }

    /// Waits until the records queued so far (the alarms' saves among them) are committed, so
    /// that an alarm is on the record with its schedule before its first message or relay goes
    /// out: a kill -9 right after cannot lose it. At most `limit`, and not at all while the store
    /// refuses writes: a failing store must not silence the notifications.
    private func commitQueued(within limit: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now + limit
        while handingOver || !records.isEmpty {
            guard ContinuousClock.now < deadline else { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
        guard await !writer.isFailing else { return }
        let writer = writer
        await FirstOf.wait(until: deadline) { try? await writer.flush() }
    }

    /// At start: unacknowledged deviations that have no alarm (the daemon was killed between the
    /// deviation's commit and its alarm's, or a rule routes them that did not before) raise their
    /// alarm now, dated from the deviation's opening, so its repeats and escalations go on from
    /// there.
    func resume(deviations: [DeviationRecord]) {
        for record in deviations {
            logger.notice("notify: deviation \(record.id) has no alarm (the daemon stopped before it was stored); raising it")
            apply(engine.take(DeviationAlerts.opened(record), now: Date(millisecondsSince1970: record.opened)))
            if let end = record.end {
                apply(engine.take(DeviationAlerts.recovered(record), now: Date(millisecondsSince1970: end)))
            }
        }
    }

    private func handOver() async {
        while !records.isEmpty {
            let record = records.removeFirst()
            await writer.hold(record)
        }
        handingOver = false
        await writer.startFlush()
    }

    /// Keeps a task until it ends (so a stop can wait for deliveries under way).
    private func start(_ work: @escaping @Sendable () async -> Void) {
        let id = UUID()
        inFlight[id] = Task {
            await work()
            self.finished(id)
        }
    }

    private func finished(_ id: UUID) { inFlight[id] = nil }

    /// Posts every active alarm to each Alertmanager channel it reached (and those that ended).
    private func syncStateChannels(ended: [AlarmRecord]) {
        for (id, channel) in stateChannels {
            let active = engine.openAlarms.filter { $0.isActive && $0.reached.contains(id) }
            let gone = ended.filter { $0.reached.contains(id) }
            guard !active.isEmpty || !gone.isEmpty else { continue }
            start { [logger] in
                do {
                    try await channel.sync(active: active, ended: gone)
                } catch {
                    logger.warning("notify channel \(id): cannot update alerts: \(error)")
                }
            }
        }
    }

    // MARK: Delivery

    private func deliver(_ notice: Notice) async {
        guard let channel = channels[notice.channel], let settings = config.notify?.channel(notice.channel) else { return }
        await commitQueued()
        let retries = self.retries
        for attempt in 1...(retries + 1) {
            let result: NotificationAttempt.Result
            var detail: String?
            do {
                try await channel.deliver(notice)
                result = .delivered
            } catch {
                result = attempt > retries ? .failed : .retrying
                detail = "\(error)"
            }
            let record = NotificationAttempt(
                time: Date(), channel: notice.channel, kind: settings.kind.name, recipients: settings.recipients, notice: notice,
                attempt: attempt, result: result, detail: detail, user: user)
            note(record)
            keep(NotificationLog.record(record))
            switch result {
            case .delivered:
                if failing.remove(notice.channel) != nil {
                    raise(AlertEvent(
                        time: Date(), severity: .info, event: .notificationRecovered, device: "labgate", channel: notice.channel,
                        detail: "\(settings.kind.name) \(settings.recipients) delivers again"))
                }
                return
            case .retrying:
                logger.warning("notify channel \(notice.channel): attempt \(attempt) failed, retrying: \(detail ?? "")")
                let wait = options.retryBackoff.delay(afterFailures: attempt)
                do { try await Task.sleep(for: wait) } catch { return }
            case .failed:
                failing.insert(notice.channel)
                let named = (record.deviations + record.alarms).joined(separator: ", ")
                raise(AlertEvent(
                    time: Date(), severity: .critical, event: .notificationFailed, device: "labgate", channel: notice.channel,
                    detail: "\(settings.kind.name) \(settings.recipients): \(detail ?? "failed") (gave up after \(attempt) attempts; the message named \(named.isEmpty ? record.events.joined(separator: ", ") : named))"))
            }
        }
    }

    private func switchRelay(_ id: String, on: Bool) async {
        guard let settings = config.notify?.channel(id), case .relay(let output) = settings.kind else { return }
        guard let relay else {
            if !warnedNoRelay {
                warnedNoRelay = true
                logger.warning("notify channel \(id): relay \(output) should be \(on ? "on" : "off"), but relay outputs are not available in this daemon")
            }
            return
        }
        if on { await commitQueued() }
        let notice = Notice(
            channel: id, items: engine.openAlarms.filter { $0.reached.contains(id) }
                .map { Notice.Item(event: $0.event, reason: .raised, alarm: $0.id) }, time: Date())
        var detail = on ? "on" : "off"
        var result = NotificationAttempt.Result.delivered
        let retries = self.retries
        for attempt in 1...(retries + 1) {
            detail = on ? "on" : "off"
            do {
                try await relay(output, on)
                result = .delivered
            } catch {
                result = attempt > retries ? .failed : .retrying
                detail += ": \(error)"
            }
            let record = NotificationAttempt(
                time: Date(), channel: id, kind: "relay", recipients: settings.recipients, notice: notice, attempt: attempt,
                result: result, detail: detail, user: user)
            note(record)
            keep(NotificationLog.record(record))
            guard result == .retrying else { break }
            do { try await Task.sleep(for: options.retryBackoff.delay(afterFailures: attempt)) } catch { return }
            // The alarms may have changed meanwhile: a later switch carries the state that counts.
            guard engine.relaysOn.contains(id) == on else { return }
        }
        if result == .failed {
            failing.insert(id)
            raise(AlertEvent(
                time: Date(), severity: .critical, event: .notificationFailed, device: "labgate", channel: id,
                detail: "relay \(output): cannot switch \(detail)"))
        } else if failing.remove(id) != nil {
            raise(AlertEvent(time: Date(), severity: .info, event: .notificationRecovered, device: "labgate", channel: id, detail: "relay \(output) written again"))
        }
    }

    /// A channel's health after an attempt (memory and /metrics; the store has the attempt).
    private func note(_ attempt: NotificationAttempt) {
        var entry = health[attempt.channel] ?? ChannelHealth(channel: attempt.channel)
        if attempt.result == .delivered {
            entry.lastSuccess = attempt.time
        } else {
            entry.lastFailure = attempt.time
            entry.lastError = attempt.detail
        }
        health[attempt.channel] = entry
        metrics?.notification(channel: attempt.channel, success: entry.lastSuccess, failure: entry.lastFailure)
        metrics?.notificationAttempt(channel: attempt.channel, result: attempt.result.rawValue)
    }

    /// Writes an event of the notifier's own to the alert log (which hands it back to `enqueue`,
    /// like every other event, to be routed).
    private func raise(_ event: AlertEvent) {
        let text = "\(event.event.rawValue) \(AlertFormatter.summary(event))"
        if event.severity == .critical { logger.critical("\(text)") } else { logger.notice("\(text)") }
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: \(text)")
        }
    }

    private static func needsPoster(_ settings: NotifySettings) -> Bool {
        settings.channels.contains {
            switch $0.kind {
            case .webhook, .alertmanager: true
            case .email, .relay: false
            }
        }
    }

    /// `poster` is there whenever `needsPoster(settings)`.
    private static func makeChannels(
        _ settings: NotifySettings, text: NoticeText, poster: JSONPoster?, smtp: SMTPClient
    ) -> ([String: any NotificationChannel], [String: any AlarmStateChannel]) {
        var channels: [String: any NotificationChannel] = [:]
        var stateChannels: [String: any AlarmStateChannel] = [:]
        for channel in settings.channels {
            switch channel.kind {
            case .email(let email): channels[channel.id] = EmailChannel(settings: email, text: text, client: smtp)
            case .webhook(let hook): channels[channel.id] = WebhookChannel(settings: hook, text: text, poster: poster!)
            case .alertmanager(let manager):
                let deliverer = AlertmanagerChannel(settings: manager, text: text, poster: poster!)
                channels[channel.id] = deliverer
                stateChannels[channel.id] = deliverer
            case .relay: break
            }
        }
        return (channels, stateChannels)
    }
}
