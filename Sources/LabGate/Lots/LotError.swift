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
    /// The lot is not on this gateway and the site store cannot be asked where it is.
    case siteUnreachable(lot: String, device: String, store: String, detail: String)
    /// Neither this gateway nor the site store (as last read) knows the lot.
    case unknownAtSite(lot: String, asOf: String)
    /// The lot carries, at the gateway that holds it, a spec this gateway's config has no spec of.
    case siteSpecUnknown(lot: String, spec: String, gateway: String, known: [String])
    /// The action needs the lot on this gateway, and it is not here (another gateway took it).
    case notHere(lot: String, detail: String)

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
        case let .siteUnreachable(lot, device, store, detail):
            "lot \(lot) is not on this gateway, and the site store \(store) cannot be asked where it is and with which spec (\(detail)): give the spec to take the lot in without the site's record (labgate lot move \(lot) --device \(device) --spec SPEC), or retry once the site store is reachable"
        case let .unknownAtSite(lot, asOf):
            "no lot '\(lot)' on this gateway or at the site store (as read \(asOf)); a new lot is placed with labgate lot start"
        case let .siteSpecUnknown(lot, spec, gateway, known):
            "lot \(lot) carries spec \(spec) at gateway \(gateway), and this gateway's config has no spec \(spec) (specs: \(known.isEmpty ? "none" : known.joined(separator: ", "))): give the spec it carries here with --spec"
        case let .notHere(lot, detail): "lot \(lot) is not on this gateway (\(detail)): act on it where it is"
        }
    }
}
