import Foundation
import GRDB
import Synchronization
import Testing
@testable import LabGate

/// A lot inside INC-01 since t0 with `seconds` readings on each of two channels, and a deviation
/// naming it (`openCO2Deviation`).
private func lotStore(_ folder: TemporaryFolder, seconds: Int) async throws -> (ReadingStore, ReadingWriter, DeviationBook) {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    try await store.pool.write { db in
        try db.execute(sql: """
            INSERT INTO lot_event (lot, action, device, spec, time, user, note)
            VALUES ('LOT-1', 'start', 'INC-01', 'msc-culture', 1700000000000, 'alice', NULL)
            """)
    }
    let writer = ReadingWriter(store: store, batchSize: 1000)
    for second in 0..<seconds {
        let time = t0.addingTimeInterval(Double(second))
        try await writer.append([
            Reading(device: "INC-01", channel: "co2", time: time, value: 5.0, quality: .good, lots: ["LOT-1"]),
            Reading(device: "INC-01", channel: "temperature", time: time, value: 37.0, quality: .good, lots: ["LOT-1"]),
        ])
    }
    try await writer.flush()
    return (store, writer, try await openCO2Deviation(store))
}

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private let grant = SignatureGrant(user: "carol", fullName: "Carol Quinn", action: .approve, subject: .lot("LOT-1"))

/// Runs `work` on the cooperative pool and waits for it from the (blocking) thread hashing the
/// record, at most `seconds`: true when it finished in that time.
private func whileHashing(seconds: Double = 30, _ work: @escaping @Sendable () async throws -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Task {
        try? await work()
        done.signal()
    }
    return done.wait(timeout: .now() + seconds) == .success
}

private func signatures(_ store: ReadingStore) async throws -> [Signature] {
    try await store.pool.read { db in try Signer.signatures(ofLot: "LOT-1", db: db) }
}

@Suite("QA's approval hashes the lot's record outside the store's write transaction")
struct ApprovalSnapshotTests {
    @Test("while a lot's record is hashed for its approval, the store's writer is free: readings of other devices commit meanwhile, and the approval stands")
    func writerFreeWhileHashing() async throws {
        let folder = try TemporaryFolder()
        let (store, writer, _) = try await lotStore(folder, seconds: 600)
        let committed = Mutex<[Bool]>([])
        let (signature, approval) = try await LotApprover.write(lot: "LOT-1", grant: grant, store: store) { _ in
            let done = whileHashing {
                try await writer.append([Reading(device: "INC-02", channel: "co2", time: Date(), value: 5.1, quality: .good)])
                try await writer.flush()
            }
            committed.withLock { $0.append(done) }
        }
        // Once per channel, in one pass: the other device's readings are no change to the lot.
        #expect(committed.withLock { $0 } == [true, true])
        #expect(approval.state == .approved && approval.approvedSHA256 == signature.contentSHA256)
        let now = try await store.pool.read { db in try LotApproval.of(lot: "LOT-1", db: db) }
        #expect(now.state == .approved)
    }

    @Test("a late reading stamped inside the span being hashed, stored before the approval is written, is caught: the record is hashed again and the approval covers it")
    func lateReadingHashedAgain() async throws {
        let folder = try TemporaryFolder()
        let (store, writer, _) = try await lotStore(folder, seconds: 60)
        let passes = Mutex(0)
        let (signature, approval) = try await LotApprover.write(lot: "LOT-1", grant: grant, store: store) { series in
            let first = passes.withLock { count in
                count += 1
                return count == 1
            }
            guard first else { return }
            _ = whileHashing {
                try await writer.append([
                    Reading(device: "INC-01", channel: "co2", time: t0.addingTimeInterval(30.5), value: 5.2, quality: .good, lots: ["LOT-1"])
                ])
                try await writer.flush()
            }
        }
        #expect(passes.withLock { $0 } == 4)
        let digest = try await store.pool.read { db in
            try LotRecordDigest.compute(lot: "LOT-1", through: t0.addingTimeInterval(59).millisecondsSince1970 + 1, db: db)
        }
        #expect(digest.series.map(\.readings) == [61, 60])
        #expect(signature.contentSHA256 == digest.sha256 && approval.state == .approved)
        #expect(try await store.pool.read { db in try LotApproval.of(lot: "LOT-1", db: db) }.state == .approved)
    }

    @Test("a record that changes every time it is hashed is not approved: the refusal says what changed, and nothing is signed")
    func keepsChangingRefused() async throws {
        let folder = try TemporaryFolder()
        let (store, writer, deviations) = try await lotStore(folder, seconds: 60)
        let late = Mutex(0)
        await #expect {
            _ = try await LotApprover.write(lot: "LOT-1", grant: grant, store: store) { series in
                guard series.channel == "co2" else { return }
                let n = late.withLock { n in
                    n += 1
                    return n
                }
                _ = whileHashing {
                    try await writer.append([
                        Reading(device: "INC-01", channel: "co2", time: t0.addingTimeInterval(Double(n) + 0.5), value: 5.2, quality: .good, lots: ["LOT-1"])
                    ])
                    try await writer.flush()
                }
            }
        } throws: { error in
            let changed = error as? LotApprover.RecordChanged
            return changed?.attempts == 3 && changed?.description.contains("a reading stamped 2023-11-14T22:13:23.500Z was stored; 3 times") == true
        }
        #expect(try await signatures(store).isEmpty)
        // A deviation acknowledged meanwhile is a change too.
        let acknowledged = Mutex(false)
        await #expect {
            _ = try await LotApprover.write(lot: "LOT-1", grant: grant, store: store, attempts: 1) { _ in
                guard !acknowledged.withLock({ $0 }) else { return }
                acknowledged.withLock { $0 = true }
                _ = whileHashing {
                    _ = try await deviations.acknowledge("DEV-2023-0007", user: "alice", comment: "door left open", signature: nil)
                }
            }
        } throws: { error in
            (error as? LotApprover.RecordChanged)?.change == "a deviation naming the lot changed"
        }
        #expect(try await signatures(store).isEmpty)
        #expect(try AuditTrail.list(in: store).allSatisfy { $0.action != LotApproval.auditAction })
    }
}
