/// A lot's path across a site's gateways, as the site store decides it: each gateway's events
/// folded into its placements (after that gateway's corrections), and each placement ended, at
/// site level, when the lot's next placement starts on any gateway, by effective time: even
/// when the first gateway's own end came later (it had not heard of the move yet), or never.
public struct SitePlacement: Sendable, Hashable {
    public var gateway: String
    public var placement: Placement
    /// The gateway whose placement ended this one at site level, when it was not its own end.
    public var endedByGateway: String?
}

extension SitePlacement {
    /// `events`: each gateway's events of the lot, in the order that gateway committed them.
    package static func path(_ events: [(gateway: String, events: [LotEvent])]) -> [SitePlacement] {
        let all = events.flatMap { entry in
            Placement.fold(entry.events).map { SitePlacement(gateway: entry.gateway, placement: $0) }
        }
        .sorted { ($0.placement.start, $0.gateway) < ($1.placement.start, $1.gateway) }
        return all.map { this in
            var this = this
            // The next placement to start anywhere else ends this one; the gateway's own next
            // placement already did (fold).
            guard let next = all.first(where: { $0.placement.start > this.placement.start && $0.gateway != this.gateway }),
                next.placement.start < (this.placement.end ?? .max)
            else { return this }
            this.placement.end = next.placement.start
            this.placement.endedBy = next.placement.startedBy
            this.endedByGateway = next.gateway
            return this
        }
    }
}
