import Foundation
import Testing
@testable import LabGate

@Suite("what a signature's audit entry carries")
struct SignatureCarriedTests {
    @Test("the signed entry carries every column but the audit position, in the JSON stores already hold (audit verify compares it byte for byte)")
    func carriedJSON() throws {
        let signature = Signature(
            id: 7, signedAt: "2026-11-30T05:00:00.000Z", user: "carol", fullName: "Carol Quinn", meaning: "approved for batch release",
            action: .approve, subjectKind: .lot, subject: "LOT-1", lot: "LOT-1", contentSHA256: "ab", auditSeq: 12)
        #expect(AuditJSON.encode(signature.carried) == #"{"action":"approve","content_sha256":"ab","full_name":"Carol Quinn","id":7,"lot":"LOT-1","meaning":"approved for batch release","signed_at":"2026-11-30T05:00:00.000Z","subject":"LOT-1","subject_kind":"lot","user":"carol"}"#)
        var onDeviation = signature
        onDeviation.lot = nil
        #expect(AuditJSON.encode(onDeviation.carried) == #"{"action":"approve","content_sha256":"ab","full_name":"Carol Quinn","id":7,"meaning":"approved for batch release","signed_at":"2026-11-30T05:00:00.000Z","subject":"LOT-1","subject_kind":"lot","user":"carol"}"#)
        #expect(try JSONDecoder().decode(Signature.self, from: JSONEncoder().encode(signature)) == signature)
    }
}
