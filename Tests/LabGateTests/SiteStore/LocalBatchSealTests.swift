import Foundation
import GRDB
import LabGate
import Testing
import TestSupport
@testable import SiteStore

/// A backlog batch carries the seals of its readings, not 2,000 seals ahead of them: at 250
/// devices a seal has 1,000 per-series entries, and 2,000 of them made one batch of 2 million
/// entries (hundreds of MB of COPY text) before the readings they seal.
@Suite("A backlog batch's seals")
struct LocalBatchSealTests {
    @Test("a full batch of readings takes only the seals whose readings are all in it; a batch that reaches the end takes every seal")
    func sealsFollowReadings() async throws {
        let folder = try TemporaryFolder()
        let store = try ReadingStore(path: folder.file("store.sqlite"))
        let writer = ReadingWriter(store: store)
        for flush in 0..<10 {
            try await writer.append(siteTestReadings(count: 500, start: Date(timeIntervalSince1970: 1_800_000_000 + Double(flush) * 1000)))
            try await writer.flush()
        }
        let sealed = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading_seal") }
        #expect(sealed == 10)
        // 1,200 readings: seals 1 and 2 whole, seal 3 in part.
        let first = try await store.pool.read { db in try LocalBatch.read(db, gateway: "gw", after: [:], readingLimit: 1_200) }
        #expect(first.readings == 1_200)
        #expect(part(first, "reading_seal")?.rows == 2)
        #expect(part(first, "reading_seal")?.position == 2)
        #expect(part(first, "seal_series")?.position == 2)
        // The next batch goes on from there and, reaching the newest reading, takes the rest.
        var positions: [String: Int64] = [:]
        for part in first.parts { positions[part.stream.name] = part.position }
        let known = positions
        let rest = try await store.pool.read { db in try LocalBatch.read(db, gateway: "gw", after: known, readingLimit: 10_000) }
        #expect(rest.readings == 3_800)
        #expect(part(rest, "reading_seal")?.rows == 8)
        #expect(part(rest, "seal_series")?.position == 10)
    }

    private func part(_ batch: LocalBatch, _ name: String) -> LocalBatch.Part? { batch.parts.first { $0.stream.name == name } }
}
