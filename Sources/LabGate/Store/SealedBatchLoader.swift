import DequeModule
import Foundation
import GRDB

/// Writes readings as the daemon's writer commits them (`ReadingWriter.insert`: lot sets, the
/// batch sealed per series and chained), one seal per batch, but many batches per transaction.
///
/// For building big stores to measure (the benchmarks): a month of the daemon's once-a-second
/// flushes is 2.6 million commits, hours of fsyncs one at a time. The rows, seals and entries are
/// those the flushes would have written, each seal stamped with its batch's commit time.
@_spi(Benchmarks) public struct SealedBatchLoader {
    private let store: ReadingStore
    private var known = ReadingWriter.Known()

    public init(store: ReadingStore) {
        self.store = store
    }

    /// Commits `batches` in one transaction, in order, each sealed on its own at `committed`.
    public mutating func commit(_ batches: [(readings: [Reading], committed: Date)]) throws {
        let start = known
        known = try store.pool.write { db in
            var known = start
            for batch in batches where !batch.readings.isEmpty {
                let readings = Deque(batch.readings)
                known.merge(
                    try ReadingWriter.insert(
                        readings[...], known: known, db: db, sealedAt: batch.committed.millisecondsSince1970))
            }
            return known
        }
    }

    /// Moves the WAL into the database file and truncates it, as a long-running daemon's
    /// checkpoints leave a store.
    public func checkpoint() throws {
        try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
