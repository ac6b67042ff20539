import LabGate
import Logging
import ServiceLifecycle

/// Sends WATCHDOG=1 at half systemd's interval while every bus scheduler is alive, and
/// STOPPING=1 as soon as shutdown begins. Withholding the ping is how a stuck daemon gets
/// restarted by systemd.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let heartbeat: SchedulerHeartbeat
    /// The one-line state `systemctl status` shows (devices, buses, open deviations), refreshed
    /// every `statusEvery` while it changes.
    var status: @Sendable () async -> String? = { nil }
    var statusEvery: Duration = .seconds(10)
    let logger: Logger

    func run() async {
        await withGracefulShutdownHandler {
            guard notifier.isActive else {
                try? await gracefulShutdown()
                return
            }
            // Without a watchdog, wake up only to refresh STATUS. The wait ends at once when
            // shutdown begins: the services after it in the group stop only once it has returned.
            await cancelWhenGracefulShutdown { await loop() }
        } onGracefulShutdown: {
            notifier.stopping()
        }
    }

    /// Pings and refreshes STATUS until cancelled (at graceful shutdown).
    private func loop() async {
        let interval = notifier.watchdogInterval ?? statusEvery * 2
        var reported: [String] = []
        var lastStatus: String?
        var statusDue = ContinuousClock.now + statusEvery
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if heartbeat.isStarted, ContinuousClock.now >= statusDue {
                statusDue = .now + statusEvery
                if let text = await status(), text != lastStatus {
                    notifier.status(text)
                    lastStatus = text
                }
            }
            let stuck = heartbeat.stuckBuses()
            if !heartbeat.isStarted || notifier.watchdogInterval == nil {
                // Not ready yet (systemd's start timeout covers this time), or not watched.
            } else if stuck.isEmpty {
                notifier.watchdog()
            } else if stuck != reported {
                logger.critical("polling is stuck on bus \(stuck.joined(separator: ", ")): no watchdog ping, so systemd restarts labgate")
            }
            reported = stuck
            do {
                try await Task.sleep(for: min(interval / 2, statusEvery))
            } catch {
                return
            }
        }
    }
}
