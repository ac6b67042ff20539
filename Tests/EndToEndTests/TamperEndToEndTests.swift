import Foundation
import LabGate
import Testing

/// What someone with write access to the store file can do with the sqlite3 shell, against what
/// `labgate audit verify --store` then says: each change is named, with the trigger, table or
/// seals it touched.
@Suite("audit verify against the sqlite3 shell: triggers and seals", .serialized)
struct TamperEndToEndTests {
    @Test("a dropped trigger, an altered trigger, a deleted seal row (its trigger dropped first) and a deleted middle seal each fail audit verify, named; the untouched store passes")
    func triggersAndSeals() async throws {
        let harness = try Harness(config: lotConfig())
        try await harness.startSim(speed: 1)
        try harness.startDaemon()
        try await harness.waitForSocket()
        func seals() throws -> Int64 {
            let query = try runCommand("sqlite3", ["-readonly", harness.storePath, "SELECT COALESCE(MAX(id), 0) FROM reading_seal;"])
            return Int64(query.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        try await eventually("6 sealed batches", timeout: .seconds(60)) { try seals() >= 6 }
        try await harness.stopDaemon()
        let newest = try seals()
        let middle = newest / 2

        let intact = try await harness.cli(["audit", "verify", "--store", harness.storePath])
        #expect(intact.status == 0, "\(intact.out)")
        #expect(intact.out.hasPrefix("OK: the record is intact"), "\(intact.out)")

        func tampered(_ name: String, _ sql: String) throws -> (copy: String, status: Int32, err: String) {
            let copy = harness.folder + "/tampered-\(name).sqlite"
            try FileManager.default.copyItem(atPath: harness.storePath, toPath: copy)
            let edit = try runCommand("sqlite3", [copy, sql])
            return (copy, edit.status, edit.err)
        }
        let sealDropped = "protective trigger reading_seal_append_only_delete on table reading_seal is missing (dropped): deletions from reading_seal are no longer refused"
        let cases: [(name: String, sql: String, expected: [String])] = [
            ("drop", "DROP TRIGGER reading_sealed_delete;",
             ["BROKEN: protective trigger reading_sealed_delete on table reading_stored is missing (dropped): deletions from reading_stored are no longer refused"]),
            ("alter", """
             DROP TRIGGER audit_append_only_update;
             CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit WHEN NEW.user = 'nobody'
                 BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
             """,
             ["BROKEN: protective trigger audit_append_only_update on table audit was altered: its SQL is not the one the migrations create"]),
            ("newest-seal", "DROP TRIGGER reading_seal_append_only_delete; DELETE FROM reading_seal WHERE id = \(newest);",
             ["are covered by no seal: they name seal \(newest), past the newest seal \(newest - 1)", sealDropped]),
            ("middle-seal", """
             DROP TRIGGER reading_seal_append_only_delete; DROP TRIGGER reading_sealed_delete; DROP TRIGGER seal_series_append_only_delete;
             DELETE FROM reading WHERE seal = \(middle); DELETE FROM seal_series WHERE seal = \(middle); DELETE FROM reading_seal WHERE id = \(middle);
             """,
             ["BROKEN: reading seal \(middle) is missing (deleted): the chain of seals jumps from seal \(middle - 1) to seal \(middle + 1)", sealDropped]),
        ]
        for (name, sql, expected) in cases {
            let edit = try tampered(name, sql)
            #expect(edit.status == 0, "\(name): \(edit.err)")
            let verify = try await harness.cli(["audit", "verify", "--store", edit.copy])
            #expect(verify.status == 4, "\(name): \(verify.out)")
            for text in expected { #expect(verify.out.contains(text), "\(name): \(verify.out)") }
        }
        // With its trigger in place, the shell cannot delete a seal at all.
        let refused = try tampered("refused", "DELETE FROM reading_seal WHERE id = \(middle);")
        #expect(refused.status != 0)
        #expect(refused.err.contains("reading seals are append-only"), "\(refused.err)")
        #expect(try await harness.cli(["audit", "verify", "--store", refused.copy]).status == 0)
    }
}
