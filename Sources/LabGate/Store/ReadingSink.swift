/// What the reading pipeline needs of the store's writer: `ReadingWriter` in the daemon, a fake
/// that records what it is handed in the pipeline's tests. Nothing here waits for the store but
/// `flush`, which the pipeline calls only when it stops.
public protocol ReadingSink: Actor {
    /// Takes readings to be committed (by a later flush); returns at once.
    func accept(_ readings: [Reading])
    /// Takes a record to be committed after the readings taken so far; returns at once.
    func hold(_ record: StoreRecord)
    /// Asks for a commit of everything taken, in the background; returns at once.
    func startFlush()
    /// Commits what was taken and waits for it; throws while the store refuses writes (all is kept).
    func flush() async throws
    /// The store stopped or started taking writes since the last call; nil when neither.
    func takeHealthChange() -> ReadingWriter.HealthChange?
    /// Whether the last commit failed.
    var isFailing: Bool { get }
    /// Readings taken and not committed yet.
    var pendingCount: Int { get }
}

extension ReadingWriter: ReadingSink {}
