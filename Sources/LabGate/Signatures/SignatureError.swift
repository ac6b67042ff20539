import Foundation

/// Why a signature was not given.
public enum SignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Wrong password (audited; counts towards the lockout).
    case refused(user: String)
    /// Too many failed signatures: signing is locked for the user until then.
    case locked(user: String, until: Date)
    /// The account may not sign now (PAM's account check).
    case denied(user: String, reason: String)
    /// Passwords cannot be checked (PAM's config or a module failed).
    case unavailable(String)
    /// The action needs a signature and the request carried no password.
    case passwordNeeded(SignedAction)
    /// Separation of duties: the approver corrected the lot.
    case approverCorrected(lot: String, user: String)

    public var description: String {
        switch self {
        case let .refused(user):
            "signature refused: the password of \(user) was not accepted"
        case let .locked(user, until):
            "signing is locked for \(user) until \(UTCTime.format(until)) after repeated failed signatures"
        case let .denied(user, reason):
            "signature refused: the account \(user) may not sign now (\(reason))"
        case let .unavailable(reason):
            "signatures cannot be checked now: \(reason)"
        case let .passwordNeeded(action):
            "\(action.rawValue) needs an electronic signature (\(action.meaning)): give your password"
        case let .approverCorrected(lot, user):
            "\(user) corrected lot \(lot) and may not also approve it (roles: separate_duties)"
        }
    }
}
