import Foundation
import LabGate
import Logging
import ServiceLifecycle

/// Looks at the wall clock against the monotonic clock every `interval` and reports each step
/// (`ClockStepDetector`): a `clock_stepped` line in the journal and the alert log, then the
/// audit trail with both times, so that the records stamped around it can be read for what they
/// are. Delays, holds and gaps run on the monotonic clock and are not moved by it.
struct ClockWatchService: Service {
    let alerts: AlertLog
    let logger: Logger
    let audit: @Sendable (_ action: String, _ object: String, _ new: String) async -> Void
    var interval: Duration = .seconds(1)

    func run() async {
        let interval = interval
        await cancelWhenGracefulShutdown {
            var detector = ClockStepDetector()
            _ = detector.look(wall: Date().millisecondsSince1970, monotonic: ClockStepDetector.monotonicNow())
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                let wall = Date().millisecondsSince1970
                if let step = detector.look(wall: wall, monotonic: ClockStepDetector.monotonicNow()) {
                    await report(step)
                }
            }
        }
    }

    private func report(_ step: ClockStep) async {
        logger.warning("clock_stepped \(step.summary)")
        let event = AlertEvent(
            time: Date(millisecondsSince1970: step.read), severity: .warning, event: .clockStepped, device: "labgate",
            detail: step.summary + "; records around it carry the stepped time, delays and gaps run on the monotonic clock")
        do {
            try alerts.write(event)
        } catch {
            logger.critical("\(error); the event was: clock_stepped \(step.summary)")
        }
        await audit("clock_stepped", "clock", AuditJSON.encode(step))
    }
}
