/// What the reading pipeline needs of the store's writer: `ReadingWriter` in the daemon, a fake
/// that records what it is handed in the pipeline's tests.
public protocol ReadingSink: Actor {
    /// Takes readings to be committed (at the latest by the next `flush`).
    func append(_ readings: [Reading]) async throws
    /// Commits what was taken; throws while the store refuses writes (the readings are kept).
    func flush() async throws
    /// The store stopped or started taking writes since the last call; nil when neither.
    func takeHealthChange() -> ReadingWriter.HealthChange?
    /// Readings taken and not committed yet.
    var pendingCount: Int { get }
}

extension ReadingWriter: ReadingSink {}
