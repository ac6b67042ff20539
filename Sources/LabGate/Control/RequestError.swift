/// Why a control request was not carried out, with the HTTP status it maps to.
public struct RequestError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Int, Sendable {
        case invalid = 400
        case forbidden = 403
        case notFound = 404
        case conflict = 409
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
