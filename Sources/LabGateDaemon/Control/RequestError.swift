import LabGate

/// Why a control request was not carried out, with the HTTP status it maps to.
struct RequestError: Error, Sendable, CustomStringConvertible {
    enum Kind: Int, Sendable {
        case invalid = 400
        /// The act needs an electronic signature and the request carried no password.
        case unauthorized = 401
        case forbidden = 403
        case notFound = 404
        case conflict = 409
        /// A body larger than the control socket takes (`ControlBody.limit`).
        case tooLarge = 413
        /// Passwords cannot be checked now (PAM).
        case unavailable = 503
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
            case .unknownDevice, .unknownSpec, .unknownLot, .unknownAction, .unknownAtSite, .siteSpecUnknown: .notFound
            case .alreadyExists, .ended, .alreadyEnded, .alreadyThere, .outOfOrder, .notHere: .conflict
            case .siteUnreachable: .unavailable
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

extension RequestError {
    /// What a refused signature means on the wire: 401 asks for the password; a wrong one, a
    /// lock, an account that may not sign and separation of duties are refusals (403).
    init(_ error: SignatureError) {
        let kind: Kind =
            switch error {
            case .passwordNeeded: .unauthorized
            case .refused, .locked, .denied, .approverCorrected: .forbidden
            case .unavailable: .unavailable
            }
        self.init(kind, error.description)
    }
}
