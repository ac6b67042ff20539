import Foundation
import GRDB
import Testing
@testable import LabGate

@Suite("an approval's signature linked to what it approved")
struct ApprovalLinkTests {
    @Test("audit verify links an approval to the lot_approved entry carrying the record hash it signed, and names one moved onto another lot")
    func approvalMovedToAnotherLot() async throws {
        let folder = try TemporaryFolder()
        let (store, _, _) = try await signedLotStore(folder)
        try await approve(store, lot: "LOT-1", user: "carol", fullName: "Carol Quinn")
        #expect(try await AuditVerifier.verify(store).problems == [])
        // Someone moves the approval onto LOT-2, consistently in the row and its carrying entry.
        try await store.pool.writeWithoutTransaction { db in
            try db.execute(sql: """
                DROP TRIGGER signature_append_only_update; DROP TRIGGER audit_append_only_update;
                UPDATE signature SET subject = 'LOT-2', lot = 'LOT-2' WHERE action = 'approve';
                UPDATE audit SET object = 'lot LOT-2', new = replace(new, '"LOT-1"', '"LOT-2"')
                WHERE action = 'signed' AND object = 'lot LOT-1';
                """)
        }
        let problems = try await AuditVerifier.verify(store).problems
        #expect(problems.contains { $0.contains("approved for batch release on lot LOT-2) is not linked to its record") }, "\(problems)")
    }
}
