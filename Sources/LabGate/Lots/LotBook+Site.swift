import Foundation

/// Lots across gateways: a lot another gateway holds is moved here from what the site store last
/// said of it, and a lot this gateway holds leaves it as soon as it hears that another gateway
/// placed it later. Both read `SiteLotView` (memory), never the site store: a move on this
/// gateway never waits on the network, and its readings carry the lot from the moment it commits.
extension LotBook {
    /// Where the site says a lot is, for an arrival here: the gateway, device and spec.
    struct Origin {
        var gateway: String?
        var placement: Placement?
        var note: String
        var before: String?
    }

    /// Moves in a lot this gateway does not hold: its spec (unless given) from the site's path, and
    /// the gateway it came from named in the note and the audit entry.
    func arrive(lot: String, device: String, spec: String?, note: String?, user: String, site: SiteLotView) async throws -> LotEvent {
        let local = registry.events(of: lot)
        let origin = try self.origin(of: lot, device: device, spec: spec, local: local, site: site)
        let settled = spec ?? origin.placement?.spec ?? ""
        if spec == nil && config.specs[settled] == nil {
            throw LotError.siteSpecUnknown(lot: lot, spec: settled, gateway: origin.gateway ?? "?", known: config.specs.keys.sorted())
        }
        try checkSpec(settled, device: device)
        let text = [origin.note, note].compactMap { $0 }.joined(separator: "; ")
        return try await record(lot: lot, action: .move, device: device, note: text, user: user, before: origin.before) { events in
            // Another action on the lot got in first: the operator tries again on what it left.
            guard events == local else { throw LotError.outOfOrder(lot: lot) }
            return settled
        }
    }

    private func origin(of lot: String, device: String, spec: String?, local: [LotEvent], site: SiteLotView) throws -> Origin {
        let path = site.path(of: lot, local: local)
        if let last = path.last {
            guard last.placement.end == nil else {
                throw last.endedByGateway == nil ? LotError.ended(lot: lot) : LotError.notHere(lot: lot, detail: "the site's record is inconsistent")
            }
            let from = last.gateway == site.gateway ? "this gateway" : "gateway \(last.gateway)"
            let placement = last.placement
            let before: [String: String] = [
                "gateway": last.gateway, "device": placement.device, "spec": placement.spec,
                "since": UTCTime.format(milliseconds: placement.start),
            ]
            return Origin(
                gateway: last.gateway, placement: placement,
                note: "from \(from) (\(placement.device), spec \(placement.spec), since \(UTCTime.format(milliseconds: placement.start)))",
                before: AuditJSON.encode(before))
        }
        if !local.isEmpty {
            throw LotError.ended(lot: lot)
        }
        if site.isFresh {
            throw LotError.unknownAtSite(lot: lot, asOf: site.syncedText)
        }
        guard spec != nil else {
            throw LotError.siteUnreachable(lot: lot, device: device, store: site.store, detail: site.unreachableDetail)
        }
        return Origin(
            gateway: nil, placement: nil,
            note: "taken in without the site's record (site store \(site.store) unreachable: \(site.unreachableDetail)); spec as given")
    }

    /// What hearing from the site did here, for the journal.
    public struct Followed: Sendable, Equatable {
        public var lot: String
        public var event: LotEvent
    }

    /// Follows the site for the lots with news: a lot this gateway holds whose next placement
    /// started on another gateway leaves here (a `left` event at that gateway's start time); a
    /// `left` whose cause moved in time follows it (a correction); one whose cause no longer
    /// stands (voided, or corrected to before this gateway's placement) is voided, which puts the
    /// lot back where it was here. Each is audited as the daemon's (`user`). Lots that could not
    /// be followed now (the store refused) are kept for the next time.
    @discardableResult
    public func followSite(user: String) async -> [Followed] {
        guard let site else { return [] }
        var done: [Followed] = []
        var retry: [String] = []
        for lot in site.takePending().sorted() {
            let local = registry.events(of: lot)
            guard !local.isEmpty else { continue }
            do {
                if let event = try await follow(lot: lot, local: local, site: site, user: user) {
                    done.append(Followed(lot: lot, event: event))
                }
            } catch {
                retry.append(lot)
            }
        }
        site.markPending(retry)
        return done
    }

    private func follow(lot: String, local: [LotEvent], site: SiteLotView, user: String) async throws -> LotEvent? {
        let mine = Placement.corrected(local)
        // This gateway's latest placement of the lot, unless the lot ended here after it.
        guard let placed = mine.last(where: { $0.action == .start || $0.action == .move }),
            !mine.contains(where: { $0.action == .end && $0.time >= placed.time })
        else { return nil }
        let left = mine.first { $0.action == .left && $0.time >= placed.time }
        // The first placement on another gateway after ours, in site order.
        let taker = SitePath.actions(site.events(of: lot)).first { other in
            (other.event.action == .start || other.event.action == .move)
                && (other.event.time, other.gateway) > (placed.time, site.gateway)
        }
        let unchanged: @Sendable ([LotEvent]) throws -> String? = { events in
            guard events == local else { throw LotError.outOfOrder(lot: lot) }
            return nil
        }
        switch (taker, left) {
        case let (taker?, nil):
            let note = "taken by gateway \(taker.gateway): its action #\(taker.event.id), \(taker.event.action.rawValue) to "
                + "\(taker.event.device ?? "?") by \(taker.event.user) at \(UTCTime.format(milliseconds: taker.event.time))"
            return try await record(
                lot: lot, action: .left, device: nil, note: note, user: user, effective: taker.event.time, check: unchanged)
        case let (taker?, left?) where left.time != taker.event.time:
            let note = "gateway \(taker.gateway)'s action #\(taker.event.id) that took the lot now takes effect at "
                + UTCTime.format(milliseconds: taker.event.time)
            return try await record(
                lot: lot, action: .correct, device: nil, note: note, user: user, corrects: left.id, effective: taker.event.time,
                check: unchanged)
        case let (nil, left?):
            let note = "the placement on another gateway that took the lot no longer stands at the site (voided or corrected); "
                + "the lot is back in this gateway's placement"
            return try await record(lot: lot, action: .void, device: nil, note: note, user: user, corrects: left.id, check: unchanged)
        default:
            return nil
        }
    }
}
