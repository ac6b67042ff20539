import Foundation
import GRDB
import Testing
@testable import LabGate

/// A store with a few audit entries, written through the store's own writer (as the daemon does).
private func auditedStore(_ folder: TemporaryFolder, entries: Int = 5) throws -> ReadingStore {
    let store = try ReadingStore(path: folder.path + "/store.sqlite")
    for index in 0..<entries {
        try AuditTrail.append(.init(user: "labgate", action: "test", object: "entry \(index)"), to: store)
    }
    return store
}

/// Another connection to the store, as the sqlite3 shell is: the daemon's writer never sees its
/// changes. Triggers dropped first.
private func behindTheBack(_ store: ReadingStore, _ sql: String) throws {
    let shell = try DatabaseQueue(path: store.path)
    try shell.writeWithoutTransaction { db in
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: sql)
    }
}

private func anchor(_ heads: ChainHeads, at time: Date = Date(), store: String) -> Anchor {
    Anchor(time: time, site: "test", store: store, reason: "periodic", pid: 1, heads: heads)
}

@Suite("anchors: the end of the record outside the store")
struct AnchorTests {
    @Test("the tracker knows the heads the store's writer committed; a deletion by another connection is found by the cheap check, and the daemon's next row after the cut is a break")
    func trackerAndTamperCheck() async throws {
        let folder = try TemporaryFolder("anchors")
        let store = try auditedStore(folder)
        let written = try #require(store.heads.heads)
        let stored = try await store.pool.read { db in try ChainHeads.read(db) }
        #expect(written == stored)
        #expect(written.auditSeq == 5)
        #expect(try await store.pool.read { db in try TamperCheck.check(db, against: written) }.isEmpty)

        try behindTheBack(store, "DELETE FROM audit WHERE seq > 3")
        let findings = try await store.pool.read { db in try TamperCheck.check(db, against: written) }
        #expect(findings.map(\.text) == [
            "audit entry 5, the newest the daemon wrote, is gone: the trail ends at entry 3 (2 deleted behind the daemon's back)"
        ])
        #expect(store.heads.heads == written, "what another connection did is not what the daemon wrote")

        try AuditTrail.append(.init(user: "labgate", action: "test", object: "after the cut"), to: store)
        #expect(store.heads.takeBreaks().map(\.text) == [
            "audit entry 4, written now, follows entry 3, but the newest the daemon wrote was 5: entries 4–5 (2) were deleted behind its back"
        ])
        #expect(store.heads.heads?.auditSeq == 4)
        #expect(store.heads.takeBreaks().isEmpty, "taken once")
    }

    @Test("the newest row rewritten by another connection is found; a lot or deviation commit is announced with the heads")
    func rewrittenAndAnnounced() async throws {
        let folder = try TemporaryFolder("anchors")
        let store = try auditedStore(folder)
        let announced = Announcements()
        store.heads.onRecordChange { heads, reason in announced.add(reason, heads) }
        let book = LotBook(store: store, registry: LotRegistry(), config: incubatorConfig(folder: folder.path))
        _ = try await book.start(lot: "LOT-1", device: "INC-01", spec: "msc-culture", note: nil, user: "alice")
        #expect(announced.all.map(\.0) == ["lot"])
        #expect(announced.all.first?.1.lotEvents == 1)
        #expect(announced.all.first?.1 == store.heads.heads)

        let deviations = DeviationBook(store: store, daemonUser: "labgate")
        let record = DeviationRecord(
            id: "DEV-2027-0001", kind: .excursion, device: "INC-01", channel: "co2", unit: "%",
            limit: .init(name: "low", value: 4.5, source: "spec msc-culture"), start: 1_800_000_006_000,
            opened: 1_800_000_016_000, valueAtOpening: 4.3, critical: false, end: nil, worst: 4.3, size: nil, lots: ["LOT-1"])
        try await deviations.commit([.opened(record)], state: "[]")
        _ = try await deviations.acknowledge("DEV-2027-0001", user: "alice", comment: "seen")
        #expect(announced.all.map(\.0) == ["lot", "deviation", "deviation"], "opened, acknowledged: each anchored")
        #expect(announced.all.map(\.1.deviations) == [0, 1, 1], "an acknowledgement adds no deviation")
        let written = try #require(store.heads.heads)
        #expect(announced.all.last?.1 == written)

        // A forger who rehashes the entry (one who does not is audit verify's: content and hash
        // no longer match).
        try behindTheBack(store, "UPDATE audit SET reason = 'forged', hash = '\(String(repeating: "f", count: 64))' WHERE seq = \(written.auditSeq)")
        let findings = try await store.pool.read { db in try TamperCheck.check(db, against: written) }
        #expect(findings.map(\.text) == [
            "audit entry \(written.auditSeq), the newest the daemon wrote, was replaced behind the daemon's back (its hash is not the one written)"
        ])
        try behindTheBack(store, "DELETE FROM lot_event")
        let gone = try await store.pool.read { db in try TamperCheck.check(db, against: written) }
        #expect(gone.contains { $0.text == "lot events 1 are gone (deleted behind the daemon's back)" })
    }

    @Test("audit verify's anchor check: intact; a tail cut before the latest anchor named with its range, count and since when; a row rewritten where an anchor named it")
    func anchorCheck() async throws {
        let folder = try TemporaryFolder("anchors")
        let store = try auditedStore(folder, entries: 3)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let source = AnchorSource.file(folder.path + "/anchors.jsonl")
        let before = anchor(try #require(store.heads.heads), at: t0, store: store.path)
        for index in 3..<6 {
            try AuditTrail.append(.init(user: "labgate", action: "test", object: "entry \(index)"), to: store)
        }
        let anchors: [(anchor: Anchor, source: AnchorSource)] = [
            (before, source), (anchor(try #require(store.heads.heads), at: t0.addingTimeInterval(60), store: store.path), source),
        ]
        let intact = try await store.pool.read { db in try AnchorCheck.check(db, anchors: anchors) }
        #expect(intact.problems.isEmpty)
        #expect(intact.checkedAgainst == "anchor file \(folder.path)/anchors.jsonl, 2027-01-15T08:01:00.000Z (periodic): audit entry 6, reading seal 0")

        try behindTheBack(store, "DELETE FROM audit WHERE seq > 4")
        let cut = try await store.pool.read { db in try AnchorCheck.check(db, anchors: anchors) }
        #expect(cut.problems == [
            "the audit trail ends before its anchor: audit entries 5–6 (2) are missing (deleted); the store ends at 4, anchored past it since 2027-01-15T08:01:00.000Z (anchor file \(folder.path)/anchors.jsonl), last in anchor file \(folder.path)/anchors.jsonl, 2027-01-15T08:01:00.000Z (periodic): audit entry 6, reading seal 0"
        ])

        // Written anew where the deleted rows were: the count is right again, the rows are not.
        try behindTheBack(store, "DELETE FROM audit WHERE seq > 2")
        for index in 0..<4 {
            try AuditTrail.append(.init(user: "mallory", action: "test", object: "forged \(index)"), to: store)
        }
        let replaced = try await store.pool.read { db in try AnchorCheck.check(db, anchors: anchors) }
        #expect(replaced.problems == [
            "the audit trail: audit entry 3 is not the one anchored at 2027-01-15T08:00:00.000Z (anchor file \(folder.path)/anchors.jsonl): deleted and written anew, or rewritten (and 1 later anchored rows)"
        ])
    }

    @Test("the anchor file: one JSON line per anchor, read back whole; reopened when rotation moved it away")
    func anchorFile() throws {
        let folder = try TemporaryFolder("anchors")
        let path = folder.path + "/anchors.jsonl"
        let file = AnchorFile(path: path)
        let heads = ChainHeads(auditSeq: 12, auditHash: String(repeating: "a", count: 64), sealSeq: 30, sealHash: String(repeating: "b", count: 64), lotEvents: 2, deviations: 1)
        let first = anchor(heads, at: Date(timeIntervalSince1970: 1_800_000_000.125), store: "/var/lib/labgate/labgate.sqlite")
        #expect(file.append(first) == nil)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == """
            {"time":"2027-01-15T08:00:00.125Z","site":"test","store":"/var/lib/labgate/labgate.sqlite","reason":"periodic","pid":1,"audit_seq":12,"audit_hash":"\(heads.auditHash)","seal_seq":30,"seal_hash":"\(heads.sealHash)","lot_events":2,"deviations":1}

            """)
        #expect(try AnchorFile.read(path: path).anchors == [first])

        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        var second = first
        second.heads.auditSeq = 13
        #expect(file.append(second) == nil)
        #expect(try AnchorFile.read(path: path).anchors == [second], "a new file where the old one was")
        #expect(try AnchorFile.read(path: path + ".1").anchors == [first], "the rotated file untouched")
    }

    @Test("config: anchors names the file; anchor_interval is 1 s to 1 min")
    func config() throws {
        typealias F = ConfigFixtures
        let config = try ConfigLoader.parse(
            yaml: F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\nanchors: /var/log/labgate/anchors.jsonl\nanchor_interval: 5s\n"),
            file: "lab.yaml")
        #expect(config.anchors == "/var/log/labgate/anchors.jsonl")
        #expect(config.anchorInterval == .seconds(5))
        let defaults = try ConfigLoader.parse(yaml: F.base, file: "lab.yaml")
        #expect(defaults.anchors == nil)
        #expect(defaults.anchorInterval == .seconds(60))
        #expect(F.messages(F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\nanchor_interval: 2m\n")) == [
            "lab.yaml:3:18: anchor_interval 2m is above the maximum 1m"
        ])
    }
}

private final class Announcements: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [(String, ChainHeads)] = []
    func add(_ reason: String, _ heads: ChainHeads) { lock.withLock { list.append((reason, heads)) } }
    var all: [(String, ChainHeads)] { lock.withLock { list } }
}
