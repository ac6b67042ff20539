import Foundation

extension ControlAPI {
    /// `lot approve`: the approver's password (an approval is always signed); never stored.
    public struct Approve: Codable, Sendable {
        public var password: String?
        public init(password: String?) { self.password = password }
    }

    /// An electronic signature as people are shown it: printed name, UTC time, meaning.
    public struct SignatureView: Codable, Sendable {
        /// "Alice Smith (alice)".
        public var signedBy: String
        public var user: String
        public var signedAt: String
        public var meaning: String
        /// "deviation DEV-2026-0007", "lot MSC-AT-0042".
        public var on: String
        public var contentSHA256: String
        public var auditSeq: Int64

        public init(_ signature: Signature) {
            signedBy = signature.printedName
            user = signature.user
            signedAt = signature.signedAt
            meaning = signature.meaning
            on = "\(signature.subjectKind.rawValue) \(signature.subject)"
            contentSHA256 = signature.contentSHA256
            auditSeq = signature.auditSeq
        }
    }

    /// QA's approval of a lot for batch release, as `lot show` and `lot approve` show it.
    public struct ApprovalView: Codable, Sendable {
        /// approved, superseded, not approved.
        public var state: String
        public var statement: String
        public var through: String?
        public var approvedSHA256: String?
        public var currentSHA256: String?

        public init(_ approval: LotApproval) {
            state = approval.state.rawValue
            statement = approval.statement
            through = approval.through
            approvedSHA256 = approval.approvedSHA256
            currentSHA256 = approval.currentSHA256
        }
    }
}
