import Foundation

/// Told by `ReadingWriter` when readings are committed or dropped, as it happens (the metrics
/// count them; a count read back at scrape time would miss what a restarted writer did).
public protocol StoreObserver: Sendable {
    func committed(readings: Int)
    /// Readings pushed out of a full memory buffer while the store could not be written.
    func dropped(readings: Int)
}

/// What the writer holds that is not committed yet.
public struct StoreBacklog: Sendable, Hashable, Codable {
    /// Readings in memory (queued, or in a commit that has not finished).
    public var held: Int
    /// When the oldest of them was taken; nil when everything is committed.
    public var oldest: Date?

    public init(held: Int, oldest: Date?) {
        self.held = held
        self.oldest = oldest
    }

    /// Seconds from the oldest uncommitted reading to `now`: about the flush interval while the
    /// store keeps up, growing by a second each second while it cannot write (disk full, stalled).
    public func lag(at now: Date) -> Double {
        oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0
    }
}
