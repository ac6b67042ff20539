import Synchronization

/// The running worst value and size of the deviations still open, as the engine last saw them:
/// the record gets them when the deviation recovers; the control socket shows them meanwhile.
public final class DeviationProgress: Sendable {
    public struct Live: Sendable, Hashable {
        public var worst: Double?
        public var size: Double?
    }

    private let live = Mutex<[String: Live]>([:])

    public init() {}

    public subscript(id: String) -> Live? { live.withLock { $0[id] } }

    /// Replaces the whole picture with the engine's.
    package func update(from engine: DeviationEngine) {
        var fresh: [String: Live] = [:]
        for id in engine.openDeviations {
            if let progress = engine.progress(of: id) { fresh[id] = Live(worst: progress.worst, size: progress.size) }
        }
        live.withLock { $0 = fresh }
    }
}
