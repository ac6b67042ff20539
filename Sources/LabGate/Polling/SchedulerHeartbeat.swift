import Synchronization

/// Each bus poller says by when it will be back (its next poll's due time plus the longest a poll
/// may take, timeouts and retries included). A bus past that moment is stuck: the watchdog then
/// stops reassuring systemd. A dead sensor is not stuck: its timeouts are within the bound.
public final class SchedulerHeartbeat: Sendable {
    private let deadlines = Mutex<[String: ContinuousClock.Instant]>([:])
    private let running = Mutex(false)

    public init() {}

    /// Every bus poller has started (READY=1 has been sent): from now on the watchdog may ping.
    public var isStarted: Bool { running.withLock { $0 } }

    package func markStarted() {
        running.withLock { $0 = true }
    }

    func expect(bus: String, backBy deadline: ContinuousClock.Instant) {
        deadlines.withLock { $0[bus] = deadline }
    }

    /// The bus stopped on purpose (shutdown): no longer watched.
    func finished(bus: String) {
        deadlines.withLock { $0[bus] = nil }
    }

    /// What the watchdog ping and the fail-safe output both wait for: every bus poller has
    /// started and none is stuck.
    public func isHealthy(at now: ContinuousClock.Instant = .now) -> Bool {
        isStarted && stuckBuses(at: now).isEmpty
    }

    /// Buses that should have come back by `now` and have not.
    public func stuckBuses(at now: ContinuousClock.Instant = .now) -> [String] {
        deadlines.withLock { all in all.filter { $0.value < now }.map(\.key).sorted() }
    }
}
