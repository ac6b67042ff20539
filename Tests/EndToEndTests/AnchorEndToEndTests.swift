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
    @Test("the newest 10 seals and their readings, then the newest 2 audit entries, deleted behind the running daemon (triggers dropped): record_tampered within seconds each, audited, and audit verify then names what was anchored before")
    func tamperedWhileRunning() async throws {
        let harness = try Harness(config: anchoredConfig())
        try await harness.startSim(speed: 30)
        try harness.startDaemon()
        try await harness.waitForSocket()
        try await eventuallyAsync("20 seals", timeout: .seconds(60)) { try await harness.storeHeads().sealSeq >= 20 }
        let online = try await harness.control(["audit", "verify"])
        #expect(online.out.hasPrefix("OK: the record is intact"), "\(online.out)")
        #expect(online.out.contains("anchored: checked against"), "\(online.out)")
        #expect(online.out.contains("anchor file \(harness.anchorFile)"), "\(online.out)")
        let own = try await harness.control(["audit", "verify", "--anchors", harness.anchorFile])
        #expect(own.out.hasPrefix("OK: the record is intact"), "\(own.out)")
        let other = try await harness.control(["audit", "verify", "--anchors", "/etc/passwd"], expect: 1)
        #expect(other.err.contains("the daemon reads only its own anchor files"), "\(other.err)")

        let deleted = Date()
        let top = try harness.sqlite(harness.storePath, """
            DROP TRIGGER reading_sealed_delete; DROP TRIGGER seal_series_append_only_delete;
            DROP TRIGGER reading_seal_append_only_delete;
            DROP TRIGGER reading_recent_delete; DROP TRIGGER seal_series_recent_delete;
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
        let sealsThen = try await harness.storeHeads().sealSeq
        try await eventuallyAsync("the daemon writes on", timeout: .seconds(10)) { try await harness.storeHeads().sealSeq > sealsThen + 2 }
        #expect(try harness.alertEvents().filter { $0.event == .recordTampered }.count == 1, "raised once")

        // The audit trail is appended to rarely (no commit follows a cut soon): the look at the
        // newest entry written, every second here, finds it.
        let trail = try harness.sqlite(harness.storePath, """
            DROP TRIGGER audit_append_only_delete;
            BEGIN IMMEDIATE; SELECT max(seq) FROM audit; DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit); COMMIT;
            """)
        let cut = Date()
        try await eventually("a second record_tampered", timeout: .seconds(60), interval: .milliseconds(50)) {
            try harness.alertEvents().filter { $0.event == .recordTampered }.count == 2
        }
        let second = try #require(try harness.alertEvents().last { $0.event == .recordTampered })
        let auditHead = try #require(Int64(trail.trimmingCharacters(in: .whitespacesAndNewlines)))
        print("record_tampered \(String(format: "%.2f", second.time.timeIntervalSince(cut))) s after the audit cut: \(second.detail ?? "")")
        #expect(second.detail?.contains("audit entr") == true && second.detail?.contains("\(auditHead)") == true, "\(second.detail ?? "")")
        #expect(second.time.timeIntervalSince(cut) < 60)
        try await harness.stopDaemon()
        let last = try #require(try harness.anchors().last)
        #expect(last.reason == "stopped")
        #expect(last.heads == (try await harness.storeHeads()), "a clean stop anchors where the record ends")
        let audited = try AuditTrail.list(in: ReadingStore(readingExisting: harness.storePath)).filter { $0.action == "record_tampered" }
        #expect(audited.last?.new?.contains("audit entry \(auditHead), the newest the daemon wrote, is gone") == true, "audited: \(audited)")

        // The daemon wrote on after the deletion, numbering new seals where the deleted ones
        // were: the anchors still name the deleted ones.
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath, "--config", harness.configPath])
        #expect(verify.status == 4, "\(verify.out)")
        #expect(verify.out.hasPrefix("BROKEN: the audit trail: audit entry "), "\(verify.out)")
        #expect(verify.out.contains("also: the reading seal chain"), "\(verify.out)")
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

        let written = try harness.anchors()
        #expect(written.contains { $0.reason == "lot" && $0.heads.lotEvents == 1 }, "the lot start anchored as it was committed")
        #expect(written.contains { $0.reason == "deviation" && $0.heads.deviations == 1 }, "the deviation anchored as it was committed")
        let intact = try await harness.cli(["audit", "verify", "--store", harness.storePath, "--anchors", harness.anchorFile])
        #expect(intact.status == 0, "\(intact.out)")
        #expect(intact.out.contains("anchored: checked against"), "\(intact.out)")
        let report = try await harness.cli(["report", "lot", "LOT-A", "--store", harness.storePath, "--config", harness.configPath, "--format", "json"])
        #expect(report.status == 0, "\(report.err)")
        let integrity = try JSONDecoder().decode(Integrity.self, from: Data(report.out.utf8)).integrity
        #expect(integrity.anchor?.hasPrefix("anchor file \(harness.anchorFile), ") == true, "the report names the anchor: \(integrity)")

        let drop = ["audit_append_only_delete", "lot_event_append_only_delete", "deviation_no_delete", "reading_sealed_delete",
            "seal_series_append_only_delete", "reading_seal_append_only_delete",
            // Killed: its newest readings and entries are still in the recent tables.
            "reading_recent_delete", "seal_series_recent_delete"].map { "DROP TRIGGER \($0);" }.joined(separator: " ")
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
             ["lot event 1 is missing (deleted)", "the audit trail ends before its anchor"]),
            ("deviations", "DELETE FROM deviation; DELETE FROM audit WHERE seq >= \(auditOfDeviation);",
             ["deviations: 1 of 1 are missing (deleted)", "the audit trail ends before its anchor"]),
        ]
        let empty = harness.folder + "/none.jsonl"
        #expect(FileManager.default.createFile(atPath: empty, contents: nil))
        for (name, sql, expected) in cases {
            let copy = harness.folder + "/cut-\(name.replacingOccurrences(of: " ", with: "-")).sqlite"
            try FileManager.default.copyItem(atPath: harness.storePath, toPath: copy)
            try harness.sqlite(copy, drop + " " + sql)
            let unanchored = try await harness.cli(["audit", "verify", "--store", copy, "--anchors", empty])
            let verify = try await harness.cli(["audit", "verify", "--store", copy, "--anchors", harness.anchorFile])
            print("\(name): \(verify.out)")
            #expect(verify.status == 4, "\(name): \(verify.out)")
            for text in expected { #expect(verify.out.contains(text), "\(name): \(verify.out)") }
            #expect(verify.out.contains("since 20"), "\(name): since when: \(verify.out)")
            #expect(verify.out.contains("anchor file \(harness.anchorFile)"), "\(name): \(verify.out)")
            if name == "seals" {
                // Without them, only the dropped triggers are named: the remaining hashes hold.
                let problems = unanchored.out.split(separator: "\n").filter { $0.hasPrefix("BROKEN: ") || $0.hasPrefix("  also: ") }
                #expect(!problems.isEmpty && problems.allSatisfy { $0.contains("protective trigger") }, "\(name) without anchors: \(unanchored.out)")
            }
        }
        let copy = harness.folder + "/cut-seals.sqlite"
        let cutReport = try await harness.cli(["report", "lot", "LOT-A", "--store", copy, "--anchors", harness.anchorFile, "--format", "json"])
        #expect(cutReport.status == 4, "the lot report's integrity check fails too: \(cutReport.err)")
        #expect(cutReport.err.contains("the reading seal chain ends before its anchor"), "\(cutReport.err)")
    }

    @Test("under journald the anchors are structured journal entries (journalctl -o json LABGATE_ANCHOR=1 finds them) and audit verify checks against the journal")
    func journalAnchors() async throws {
        let journal = try JournalNamespace()
        let harness = try Harness(config: lotConfig().replacingOccurrences(
            of: "control: FOLDER/control.sock\n", with: "control: FOLDER/control.sock\nanchor_interval: 1s\n"))
        try await harness.startSim(speed: 30)
        // As systemd starts a unit that logs to a journal namespace (LogNamespace=).
        try harness.startDaemon(environment: ["INVOCATION_ID": "4c5a0b5e0c9d4e0f8a1b2c3d4e5f6a7b", "LOG_NAMESPACE": journal.name])
        try await harness.waitForSocket()
        try await harness.control(["lot", "start", "LOT-J", "--device", "INC-01", "--spec", "loose"])
        var entries: [[String: String]] = []
        try await eventually("the lot's anchor in the journal", timeout: .seconds(20), interval: .milliseconds(200)) {
            entries = try journal.anchorEntries()
            return entries.contains { $0["LABGATE_REASON"] == "lot" }
        }
        let lot = try #require(entries.first { $0["LABGATE_REASON"] == "lot" })
        #expect(lot["LABGATE_LOT_EVENTS"] == "1")
        #expect(lot["LABGATE_STORE"] == harness.storePath)
        #expect(lot["LABGATE_SITE"] == "e2e-lots")
        #expect(lot["SYSLOG_IDENTIFIER"] == "labgated")
        #expect(Int(lot["LABGATE_AUDIT_SEQ"] ?? "") ?? 0 >= 3)
        #expect(lot["LABGATE_AUDIT_HASH"]?.count == 64)
        #expect(!FileManager.default.fileExists(atPath: harness.anchorFile), "under journald and without anchors: in the config, the journal alone")
        let online = try await harness.control(["audit", "verify"])
        #expect(online.out.contains("anchored: checked against"), "\(online.out)")
        #expect(online.out.contains("the journal (namespace \(journal.name))"), "\(online.out)")

        try await eventuallyAsync("the audit head anchored", timeout: .seconds(10)) {
            let head = try await harness.storeHeads().auditSeq
            return try journal.anchorEntries().contains { Int64($0["LABGATE_AUDIT_SEQ"] ?? "") == head }
        }
        harness.daemon?.kill(SIGKILL)
        _ = try await harness.daemon?.wait(timeout: .seconds(10))
        let head = try await harness.storeHeads().auditSeq
        try harness.sqlite(harness.storePath, "DROP TRIGGER audit_append_only_delete; DELETE FROM audit WHERE seq > \(head - 2);")
        let verify = try await harness.cli(["audit", "verify", "--store", harness.storePath, "--anchors", "journal:\(journal.name)"])
        #expect(verify.status == 4, "\(verify.out)")
        #expect(verify.out.hasPrefix("BROKEN: the audit trail ends before its anchor: audit entries \(head - 1)–\(head) (2) are missing (deleted)"), "\(verify.out)")
        #expect(verify.out.contains("(the journal (namespace \(journal.name)))"), "\(verify.out)")
    }
}

/// The lot report's JSON, as far as the integrity statement.
private struct Integrity: Decodable {
    struct Statement: Decodable {
        var ok: Bool
        var anchor: String?
    }

    var integrity: Statement
}

/// A journald of its own for a test: `systemd-journald NAME` serves the journal namespace NAME
/// (socket /run/systemd/journal.NAME/socket, read with `journalctl --namespace=NAME`), as
/// systemd runs it for units with LogNamespace=; the host's journal is not touched.
final class JournalNamespace: @unchecked Sendable {
    let name = "labgate-e2e-" + UUID().uuidString.prefix(8).lowercased()
    private let folder: TemporaryFolder
    private let journald: ChildProcess

    init() throws {
        folder = try TemporaryFolder("labgate-journald")
        journald = try ChildProcess("/lib/systemd/systemd-journald", [name], folder: folder.path, name: "journald")
        let socket = "/run/systemd/journal.\(name)/socket"
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline, journald.isRunning else {
                throw HarnessError("systemd-journald \(name) did not start: \(journald.stderr)")
            }
            usleep(20_000)
        }
    }

    deinit {
        journald.kill(SIGTERM)
        journald.process.waitUntilExit()
        let machine = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        for path in ["/run/systemd/journal.\(name)", "/var/log/journal/\(machine).\(name)", "/run/log/journal/\(machine).\(name)"] {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The anchors in the namespace, as `journalctl -o json` prints them.
    func anchorEntries() throws -> [[String: String]] {
        let result = try runCommand("journalctl", ["--namespace=\(name)", "-o", "json", "--no-pager", "-q", "LABGATE_ANCHOR=1"])
        return result.out.split(separator: "\n").compactMap { Anchor.parseObject($0) }
    }
}
