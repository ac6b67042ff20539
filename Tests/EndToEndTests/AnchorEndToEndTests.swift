import Foundation
import Glibc
import LabGate
import Testing

/// The lot config with an anchor file and an anchoring period of a second (a minute by default).
private func anchoredConfig() -> String {
    lotConfig().replacingOccurrences(
        of: "control: FOLDER/control.sock\n",
        with: "control: FOLDER/control.sock\nanchors: FOLDER/anchors.jsonl\nanchor_interval: 1s\n")
}

extension Harness {
    var anchorFile: String { folder + "/anchors.jsonl" }

    func anchors() throws -> [Anchor] {
        guard FileManager.default.fileExists(atPath: anchorFile) else { return [] }
        return try AnchorFile.read(path: anchorFile).anchors
    }

    /// The sqlite3 shell on a store, waiting up to 10 s for the daemon's write lock.
    @discardableResult
    func sqlite(_ path: String, _ sql: String) throws -> String {
        let result = try runCommand("sqlite3", ["-cmd", ".timeout 10000", path, sql])
        #expect(result.status == 0, "\(sql): \(result.err)")
        return result.out
    }

    func storeHeads(_ path: String? = nil) async throws -> ChainHeads {
        try await ReadingStore(readingExisting: path ?? storePath).pool.read { db in try ChainHeads.read(db) }
    }
}

@Suite("the end of the record anchored outside the store", .serialized)
struct AnchorEndToEndTests {
    @Test("the newest 10 seals and their readings deleted behind the running daemon (triggers dropped): record_tampered within seconds, audited, and audit verify then names the seals anchored before")
    func tamperedWhileRunning() async throws {
        let harness = try Harness(config: anchoredConfig())
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventuallyAsync("30 seals", timeout: .seconds(60)) { try await harness.storeHeads().sealSeq >= 30 }
        let online = try await harness.control(["audit", "verify"])
        #expect(online.out.hasPrefix("OK: the record is intact"), "\(online.out)")
        #expect(online.out.contains("anchored: checked against"), "\(online.out)")
        #expect(online.out.contains("anchor file \(harness.anchorFile)"), "\(online.out)")

        let deleted = Date()
        let top = try harness.sqlite(harness.storePath, """
            DROP TRIGGER reading_sealed_delete; DROP TRIGGER seal_series_append_only_delete;
            BEGIN IMMEDIATE;
            SELECT max(id) FROM reading_seal;
            CREATE TEMP TABLE cut AS SELECT max(id) - 10 AS id FROM reading_seal;
            DELETE FROM reading WHERE seal > (SELECT id FROM cut);
            DELETE FROM seal_series WHERE seal > (SELECT id FROM cut);
            DELETE FROM reading_seal WHERE id > (SELECT id FROM cut);
            COMMIT;
            """)
        try await eventually("record_tampered", timeout: .seconds(60), interval: .milliseconds(50)) {
            try harness.alertEvents().contains { $0.event == .recordTampered }
        }
        let alert = try #require(try harness.alertEvents().first { $0.event == .recordTampered })
        let delay = alert.time.timeIntervalSince(deleted)
        print("record_tampered \(String(format: "%.2f", delay)) s after the deletion: \(alert.detail ?? "")")
        #expect(delay < 60)
        #expect(alert.severity == .critical)
        // Found by the daemon's next commit (its seal follows the cut) or by the look every
        // second at the seal it wrote last, whichever comes first.
        let newest = try #require(Int64(top.trimmingCharacters(in: .whitespacesAndNewlines)))
        let named = ["seals \(newest - 9)–\(newest) (10) were deleted behind its back",
            "reading seal \(newest), the newest the daemon wrote, is gone"]
        #expect(named.contains { alert.detail?.contains($0) == true }, "\(alert.detail ?? "")")
        #expect(harness.alertLines().contains { $0.contains("record_tampered") })
        #expect(harness.daemon!.stderr.contains("record_tampered"), "and the journal says so")
        #expect(try harness.anchors().contains { $0.reason == "record_tampered" }, "the heads written anchored at once")
        try await eventually("the daemon writes on", timeout: .seconds(10)) {
            try harness.alertEvents().filter { $0.event == .recordTampered }.count == 1
        }
        try await harness.stopDaemon()
        #expect(try harness.alertEvents().filter { $0.event == .recordTampered }.count == 1, "raised once")
        let audited = try AuditTrail.list(in: ReadingStore(readingExisting: harness.storePath)).filter { $0.action == "record_tampered" }
        #expect(audited.count == 1)

        // The daemon wrote on after the deletion, numbering new seals where the deleted ones
        // were: the anchors still name the deleted ones.
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath, "--config", harness.configPath])
        #expect(verify.status == 4, "\(verify.out)")
        #expect(verify.out.hasPrefix("BROKEN: the reading seal chain"), "\(verify.out)")
    }

    @Test("after kill -9, deleting more than an anchoring period of the newest seals, audit entries, lot events or deviations makes audit verify fail, naming the missing tail and since when")
    func tailDeletedAfterKill() async throws {
        let harness = try Harness(
            config: anchoredConfig(), scenario: "events:\n  - { at: 150s, device: INC-02, event: door_open, for: 600s }\n")
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-A", "--device", "INC-02", "--spec", "tight"])
        try await eventuallyAsync("deviation stored", timeout: .seconds(60)) { try await !harness.deviations().isEmpty }
        // The kill comes once an anchor names what the store holds, and 3 s of seals later.
        let stored = try await harness.storeHeads()
        try await eventually("anchored", timeout: .seconds(20)) {
            try harness.anchors().last.map { $0.heads.auditSeq >= stored.auditSeq && $0.heads.deviations >= 1 } ?? false
        }
        let sealsThen = try await harness.storeHeads().sealSeq
        try await eventuallyAsync("3 more seals", timeout: .seconds(20)) { try await harness.storeHeads().sealSeq >= sealsThen + 3 }
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        // The copies below are of the store file alone: what the WAL holds goes into it first.
        try harness.sqlite(harness.storePath, "PRAGMA wal_checkpoint(TRUNCATE);")
        let heads = try await harness.storeHeads()
        #expect(!(try harness.anchors().contains { $0.reason == "stopped" }), "no clean stop anchored the end")

        let intact = try await harness.cli(["audit", "verify", "--store", harness.storePath, "--anchors", harness.anchorFile])
        #expect(intact.status == 0, "\(intact.out)")
        #expect(intact.out.contains("anchored: checked against"), "\(intact.out)")

        let drop = ["audit_append_only_delete", "lot_event_append_only_delete", "deviation_no_delete", "reading_sealed_delete",
            "seal_series_append_only_delete"].map { "DROP TRIGGER \($0);" }.joined(separator: " ")
        let auditOfLot = "(SELECT min(seq) FROM audit WHERE record LIKE 'lot_event:%')"
        let auditOfDeviation = "(SELECT min(seq) FROM audit WHERE record LIKE 'deviation:%')"
        let seals = "(SELECT max(id) - 3 FROM reading_seal)"
        let cases: [(name: String, sql: String, expected: [String])] = [
            ("seals", """
                CREATE TEMP TABLE cut AS SELECT \(seals) AS id;
                DELETE FROM reading WHERE seal > (SELECT id FROM cut); DELETE FROM seal_series WHERE seal > (SELECT id FROM cut);
                DELETE FROM reading_seal WHERE id > (SELECT id FROM cut);
                """,
             ["BROKEN: the reading seal chain ends before its anchor: reading seals \(heads.sealSeq - 2)–", "and their readings are missing (deleted)"]),
            ("audit entries", "DELETE FROM audit WHERE seq > \(heads.auditSeq - 2);",
             ["BROKEN: the audit trail ends before its anchor: audit entries \(heads.auditSeq - 1)–\(heads.auditSeq) (2) are missing (deleted)"]),
            ("lot events", "DELETE FROM lot_event; DELETE FROM audit WHERE seq >= \(auditOfLot);",
             ["lot events: 1 (1) are missing (deleted)", "the audit trail ends before its anchor"]),
            ("deviations", "DELETE FROM deviation; DELETE FROM audit WHERE seq >= \(auditOfDeviation);",
             ["deviations: 1 of 1 are missing (deleted)", "the audit trail ends before its anchor"]),
        ]
        let empty = harness.folder + "/none.jsonl"
        #expect(FileManager.default.createFile(atPath: empty, contents: nil))
        for (name, sql, expected) in cases {
            let copy = harness.folder + "/cut-\(name.replacingOccurrences(of: " ", with: "-")).sqlite"
            try FileManager.default.copyItem(atPath: harness.storePath, toPath: copy)
            try harness.sqlite(copy, drop + " " + sql)
            // Without the anchors, the rest of the record is intact: only they show the cut.
            let unanchored = try await harness.cli(["audit", "verify", "--store", copy, "--anchors", empty])
            let verify = try await harness.cli(["audit", "verify", "--store", copy, "--anchors", harness.anchorFile])
            print("\(name): \(verify.out)")
            #expect(verify.status == 4, "\(name): \(verify.out)")
            for text in expected { #expect(verify.out.contains(text), "\(name): \(verify.out)") }
            #expect(verify.out.contains("since 20"), "\(name): since when: \(verify.out)")
            #expect(verify.out.contains("anchor file \(harness.anchorFile)"), "\(name): \(verify.out)")
            if name == "seals" {
                #expect(unanchored.status == 0, "\(name) without anchors: \(unanchored.out)")
            }
        }
    }
}
