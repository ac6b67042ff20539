import LabGate

/// Why a control request was not carried out, with the HTTP status it maps to.
struct RequestError: Error, Sendable, CustomStringConvertible {
    enum Kind: Int, Sendable {
        case invalid = 400
        case forbidden = 403
        case notFound = 404
        case conflict = 409
        /// A body larger than the control socket takes (`ControlBody.limit`).
        case tooLarge = 413
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }
}

extension RequestError {
    /// What a refused lot action means on the wire.
    init(_ error: LotError) {
        let kind: Kind =
            switch error {
            case .invalidLotID, .specNotMeasured, .invalidCorrection: .invalid
            case .unknownDevice, .unknownSpec, .unknownLot, .unknownAction: .notFound
            case .alreadyExists, .ended, .alreadyEnded, .alreadyThere, .outOfOrder: .conflict
            }
        self.init(kind, error.description)
    }

    /// What a refused action on a deviation means on the wire.
    init(_ error: DeviationError) {
        let kind: Kind =
            switch error {
            case .unknownDeviation: .notFound
            case .sameUser: .forbidden
            case .alreadyAcknowledged, .closed, .alreadyClosed, .stillOpen, .notAcknowledged: .conflict
            }
        self.init(kind, error.description)
    }
}
