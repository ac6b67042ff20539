import Foundation
import GRDB
@testable import LabGate

/// A store writer that keeps what the pipeline hands it, in order, and can be told to refuse
/// writes as a full disk does: flushes then throw, and the change is reported once each way, as
/// `ReadingWriter` reports it. With a store, the records it holds (deviation changes, the engine's
/// state) are written there, in order, by each flush that succeeds.
actor RecordingSink: ReadingSink {
    enum Call: Equatable {
        case append(count: Int)
        case hold(String)
        case flush
    }

    struct Refused: Error {}

    private let store: ReadingStore?
    private(set) var calls: [Call] = []
    /// Every reading appended, in the order handed over (refused ones too: the writer holds them).
    private(set) var readings: [Reading] = []
    /// Records handed over and not written yet.
    private var records: [StoreRecord] = []
    private var committed = 0
    private var failingSince: Date?
    private var failingReported = false
    private var change: ReadingWriter.HealthChange?
    private var waiters: [(appends: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(store: ReadingStore? = nil) {
        self.store = store
    }

    var appendCount: Int { calls.count { if case .append = $0 { true } else { false } } }
    var pendingCount: Int { readings.count - committed }
    var heldRecords: [String] { records.map(\.summary) }
    var isFailing: Bool { failingSince != nil }

    func accept(_ new: [Reading]) {
        calls.append(.append(count: new.count))
        readings += new
        let count = appendCount
        waiters.removeAll { waiter in
            guard waiter.appends <= count else { return false }
            waiter.continuation.resume()
            return true
        }
    }

    func hold(_ record: StoreRecord) {
        calls.append(.hold(record.summary))
        if let key = record.key { records.removeAll { $0.key == key } }
        records.append(record)
    }

    func startFlush() {
        try? flushNow()
    }

    func flush() async throws {
        try flushNow()
    }

    private func flushNow() throws {
        calls.append(.flush)
        if let since = failingSince {
            if !failingReported {
                failingReported = true
                change = .failing(since: since, error: "disk full", held: pendingCount)
            }
            throw Refused()
        }
        if let store, !records.isEmpty {
            let held = records
            try store.pool.write { db in
                for record in held { try record.write(db) }
            }
        }
        records.removeAll()
        committed = readings.count
    }

    func takeHealthChange() -> ReadingWriter.HealthChange? {
        defer { change = nil }
        return change
    }

    /// From now on the store refuses writes (true) or takes them again (false).
    func refuseWrites(_ refuse: Bool) {
        if refuse, failingSince == nil {
            failingSince = Date()
            failingReported = false
        } else if !refuse, let since = failingSince {
            failingSince = nil
            change = .recovered(failingSince: since, written: pendingCount, lost: 0)
        }
    }

    /// Returns once the pipeline has handed over `count` batches (no timeout: the suite's time
    /// limit ends a test that waits forever).
    func waitForAppends(_ count: Int) async {
        if appendCount >= count { return }
        await withCheckedContinuation { waiters.append((count, $0)) }
    }
}
