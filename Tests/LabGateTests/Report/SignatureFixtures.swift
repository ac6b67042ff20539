import Foundation
import GRDB
import Testing
@testable import LabGate

/// QA's approval as `lot approve` records it, without the password check: the lot's record
/// hashed, the span it covers, the signature over the hash.
func approve(_ store: ReadingStore, lot: String, user: String, fullName: String) async throws {
    let grant = SignatureGrant(user: user, fullName: fullName, action: .approve, subject: .lot(lot))
    _ = try await LotApprover.write(lot: lot, grant: grant, store: store)
}
