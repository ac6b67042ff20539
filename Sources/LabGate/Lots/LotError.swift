/// Why a lot action was refused. The words are the operator's; the control socket decides what
/// each means on the wire.
public enum LotError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidLotID(String)
    case unknownDevice(String, known: [String])
    case unknownSpec(String, known: [String])
    /// The spec sets limits on channels the device does not measure.
    case specNotMeasured(spec: String, device: String, channels: [String])
    /// Lot ids are never reused; `state` says where the lot is or that it ended.
    case alreadyExists(lot: String, state: String)
    case unknownLot(String)
    case ended(lot: String)
    case alreadyEnded(lot: String)
    case alreadyThere(lot: String, device: String, spec: String)
    case unknownAction(lot: String, event: Int64)
    /// A correction that cannot be made as asked (no reason, nothing changed, a future time...).
    case invalidCorrection(String)
    case outOfOrder(lot: String)

    public var description: String {
        switch self {
        case let .invalidLotID(lot): "'\(lot)' is not a lot id (letters, digits, '-', '_', '.'; at most 64)"
        case let .unknownDevice(device, known): "no device '\(device)' (devices: \(known.joined(separator: ", ")))"
        case let .unknownSpec(spec, known): "no spec '\(spec)' (specs: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case let .specNotMeasured(spec, device, channels):
            "spec \(spec) sets limits for \(channels.joined(separator: ", ")), which device \(device) does not measure"
        case let .alreadyExists(lot, state): "lot \(lot) already exists (\(state)); lot ids are never reused"
        case let .unknownLot(lot): "no lot '\(lot)'"
        case let .ended(lot): "lot \(lot) has ended"
        case let .alreadyEnded(lot): "lot \(lot) has already ended"
        case let .alreadyThere(lot, device, spec): "lot \(lot) is already in \(device) with spec \(spec)"
        case let .unknownAction(lot, event): "lot \(lot) has no action #\(event) to correct (see labgate lot show)"
        case let .invalidCorrection(reason): reason
        case let .outOfOrder(lot): "that correction would put lot \(lot)'s actions out of order (a start first, an end last)"
        }
    }
}
