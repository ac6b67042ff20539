/// The acts that can carry an electronic signature, each with the meaning the signature states
/// (21 CFR 11.50: a signed record shows what the signature means).
public enum SignedAction: String, Sendable, Codable, CaseIterable, Hashable {
    /// Acknowledging a deviation or an alarm.
    case ack
    /// Closing a deviation with QA's impact assessment.
    case close
    /// Correcting a lot action.
    case correct
    /// QA's approval of a lot's environmental record for batch release.
    case approve

    /// The meaning stored with the signature and shown with it.
    public var meaning: String {
        switch self {
        case .ack: "acknowledged"
        case .close: "QA reviewed, impact assessed"
        case .correct: "corrected"
        case .approve: "approved for batch release"
        }
    }
}

/// What a signature is on: a deviation, an alarm or a lot, with the lot it belongs to.
public struct SignatureSubject: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case deviation, alarm, lot
    }

    public var kind: Kind
    /// The deviation, alarm or lot id.
    public var id: String
    /// The lot it belongs to, when it belongs to one (a lot's own id for a lot).
    public var lot: String?

    public init(kind: Kind, id: String, lot: String? = nil) {
        self.kind = kind
        self.id = id
        self.lot = kind == .lot ? (lot ?? id) : lot
    }

    public static func deviation(_ id: String) -> SignatureSubject { .init(kind: .deviation, id: id) }
    public static func alarm(_ id: String) -> SignatureSubject { .init(kind: .alarm, id: id) }
    public static func lot(_ id: String) -> SignatureSubject { .init(kind: .lot, id: id, lot: id) }

    /// The audit trail's object name (`deviation DEV-2026-0007`, `lot MSC-AT-0042`).
    public var object: String { "\(kind.rawValue) \(id)" }
}
