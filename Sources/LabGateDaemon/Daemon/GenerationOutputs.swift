import LabGate
import Synchronization

/// The relay outputs of the running config generation, for the notifier, which outlives
/// generations: a switch asked for between two of them (during a reload) waits for the next
/// one's bus owners instead of being lost.
final class GenerationOutputs: Sendable {
    /// How long a switch may wait for bus owners and then for a gap in their polling; past it the
    /// notifier retries and, in the end, raises notification_failed.
    static let patience = Duration.seconds(10)

    private let current = Mutex<RelayOutputs?>(nil)

    /// This generation's outputs, or nil once its bus owners have stopped.
    func set(_ outputs: RelayOutputs?) {
        current.withLock { $0 = outputs }
    }

    /// Switches a relay channel's output on or off (the notifier's `RelayDriver`).
    func write(_ relay: RelayOutput, on: Bool) async throws {
        let deadline = ContinuousClock.now + Self.patience
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if let outputs = current.withLock({ $0 }) {
                try await outputs.set(relay, on: on, within: max(left, .zero))
                return
            }
            guard left > .zero else {
                throw RelayWriteError(device: relay.device, output: .init(relay.target), on: on, reason: .noGap)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
