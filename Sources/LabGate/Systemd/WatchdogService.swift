import Logging
import ServiceLifecycle

/// Sends WATCHDOG=1 at half systemd's interval while every bus scheduler is alive, and
/// STOPPING=1 as soon as shutdown begins. Withholding the ping is how a stuck daemon gets
/// restarted by systemd.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let heartbeat: SchedulerHeartbeat
    let logger: Logger

    func run() async {
        await withGracefulShutdownHandler {
            guard let interval = notifier.watchdogInterval else {
                try? await gracefulShutdown()
                return
            }
            var reported: [String] = []
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                let stuck = heartbeat.stuckBuses()
                if !heartbeat.isStarted {
                    // Not ready yet: systemd's start timeout covers this time, not the watchdog.
                } else if stuck.isEmpty {
                    notifier.watchdog()
                } else if stuck != reported {
                    logger.critical("polling is stuck on bus \(stuck.joined(separator: ", ")): no watchdog ping, so systemd restarts labgate")
                }
                reported = stuck
                try? await Task.sleep(for: interval / 2)
            }
        } onGracefulShutdown: {
            notifier.stopping()
        }
    }
}
