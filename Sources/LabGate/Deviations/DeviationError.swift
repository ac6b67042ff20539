/// Why a person's action on a deviation was refused.
public enum DeviationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownDeviation(String)
    case alreadyAcknowledged(id: String, by: String)
    case closed(id: String)
    case alreadyClosed(id: String)
    /// Conditions have not recovered yet: QA closes only what has ended.
    case stillOpen(id: String)
    case notAcknowledged(id: String)
    /// Separation of duties: the closer acknowledged it (`SeparationOfDuties`).
    case sameUser(id: String, acknowledgedBy: String, closer: String)

    public var description: String {
        switch self {
        case let .unknownDeviation(id): "no deviation '\(id)'"
        case let .alreadyAcknowledged(id, by): "\(id) was already acknowledged by \(by)"
        case let .closed(id): "\(id) is closed"
        case let .alreadyClosed(id): "\(id) is already closed"
        case let .stillOpen(id): "\(id) is still open: it can be closed once conditions have recovered"
        case let .notAcknowledged(id): "\(id) has not been acknowledged yet: an operator acknowledges it first"
        case let .sameUser(id, acknowledgedBy, closer):
            "user \(closer) may not close \(id): it was acknowledged by \(acknowledgedBy), and separation of duties "
                + "requires the QA user who closes a deviation to be another than the one who acknowledged it "
                + "(roles: separate_duties)"
        }
    }
}
