import Logging
import ServiceLifecycle

/// Holds the fail-safe coil on: writes it on every `every` while the daemon is healthy (the
/// condition that feeds the systemd watchdog: every bus poller started, none stuck). The I/O
/// module's own communication watchdog drops the coil once the writes stop, so the building's
/// dialer calls when labgate hangs, is killed, or its host dies. A stop (SIGTERM, a reload) only
/// stops the writes: a reload's next generation takes them up again within the module's watchdog
/// time; a stop leaves the coil to drop.
public struct FailSafeService: Service {
    let outputs: RelayOutputs
    let device: String
    let coil: Int
    let every: Duration
    let healthy: @Sendable () -> Bool
    let logger: Logger

    public init(
        outputs: RelayOutputs, device: String, coil: Int, every: Duration, healthy: @escaping @Sendable () -> Bool,
        logger: Logger
    ) {
        self.outputs = outputs
        self.device = device
        self.coil = coil
        self.every = every
        self.healthy = healthy
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        let clock = ContinuousClock()
        var next = clock.now
        // What the journal was last told (a failure, or not healthy), so that it hears each change once.
        var trouble: String?
        // Until polling has started, not being healthy is no news.
        var started = false
        while !Task.isCancelled {
            var now: String?
            if healthy() {
                started = true
                do {
                    // A write that finds no gap within the period gives way to the next one.
                    try await outputs.set(device: device, output: .coil(coil), on: true, within: every)
                } catch {
                    if error.reason == .cancelled { return }
                    now = "fail-safe \(error); the I/O module drops it once its watchdog time passes without a write"
                }
            } else if started {
                now = "fail-safe \(device) coil \(coil) not written: labgate is not healthy (polling stuck or not started)"
            }
            if now != trouble {
                if let now {
                    logger.error("\(now)")
                } else if trouble != nil {
                    logger.notice("fail-safe \(device) coil \(coil) written again")
                }
                trouble = now
            }
            // A fixed rate: the period counts from the previous slot, not from the write's end.
            next = next + every
            if next < clock.now { next = clock.now }
            do {
                try await clock.sleep(until: next)
            } catch {
                return
            }
        }
    }
}
