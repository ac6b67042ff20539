import Foundation
import Synchronization

/// A lot event as the site store holds it: one gateway's, with that gateway's id.
public struct SiteLotEvent: Sendable, Hashable {
    public var gateway: String
    public var event: LotEvent

    public init(gateway: String, event: LotEvent) {
        self.gateway = gateway
        self.event = event
    }
}

/// A lot inside one device of one gateway over an interval, as the site decides it.
public struct SitePlacement: Sendable, Hashable {
    public var gateway: String
    public var placement: Placement
    /// The gateway whose placement ended this one (nil: ended by an end, or still open).
    public var endedByGateway: String?
}

/// The site-wide path of a lot. Each gateway's events are folded into that gateway's placements
/// as its own corrections, voids, `left`s and ends leave them; then each placement ends, at site
/// level, when the lot's next placement starts on any other gateway (by the time it took effect;
/// equal times: by gateway id), even when the first gateway's own end came later (it had not
/// heard yet) or never. A gateway's own end ends only its own placement: an operator there who
/// ended the lot before hearing of a move spoke of the lot as that gateway knew it.
public enum SitePath {
    /// Every gateway's actions after its corrections, in site order (`left`s, echoes of another
    /// gateway's placement, left out).
    public static func actions(_ events: [SiteLotEvent]) -> [SiteLotEvent] {
        let byGateway = Dictionary(grouping: events, by: \.gateway)
        var actions: [SiteLotEvent] = []
        for (gateway, events) in byGateway {
            actions += Placement.corrected(events.map(\.event).sorted { $0.id < $1.id })
                .filter { $0.action != .left }
                .map { SiteLotEvent(gateway: gateway, event: $0) }
        }
        return actions.sorted { ($0.event.time, $0.gateway, $0.event.id) < ($1.event.time, $1.gateway, $1.event.id) }
    }

    public static func fold(_ events: [SiteLotEvent]) -> [SitePlacement] {
        let byGateway = Dictionary(grouping: events, by: \.gateway)
        let all = byGateway.flatMap { gateway, events in
            // A `left` only echoes another gateway's placement, which ends this one by itself (and
            // may since have been voided there).
            Placement.fold(events.map(\.event).filter { $0.action != .left }.sorted { $0.id < $1.id })
                .map { SitePlacement(gateway: gateway, placement: $0) }
        }
        .sorted { ($0.placement.start, $0.gateway) < ($1.placement.start, $1.gateway) }
        return all.indices.map { index in
            var this = all[index]
            guard let next = all[(index + 1)...].first(where: { $0.gateway != this.gateway }),
                next.placement.start < (this.placement.end ?? .max)
            else { return this }
            this.placement.end = next.placement.start
            this.placement.endedBy = next.placement.startedBy
            this.endedByGateway = next.gateway
            return this
        }
    }
}

/// What this gateway knows of the site's lots: the lot events of the other gateways as the site
/// store last gave them (read by the forwarder's session), when it last could, and which lots
/// changed since this gateway last followed them. No PostgreSQL here: the forwarder fills it,
/// lot moves and `LotBook.followSite` read it, so nothing a person does waits on the site store.
public final class SiteLotView: Sendable {
    private struct State {
        var events: [String: [SiteLotEvent]] = [:]
        /// The last event id taken in from each other gateway (their ids grow in commit order, and
        /// each gateway's rows reach the site in that order).
        var cursors: [String: Int64] = [:]
        var synced: Date?
        var lastError: String?
        /// Lots with news this gateway has not followed yet.
        var pending: Set<String> = []
    }

    /// This gateway's id and the site store's URL (for messages).
    public let gateway: String
    public let store: String
    /// How old the last read may be for the site's silence about a lot to mean "no such lot".
    public let freshness: Duration
    private let state = Mutex(State())

    public init(gateway: String, store: String, freshness: Duration = .seconds(15)) {
        self.gateway = gateway
        self.store = store
        self.freshness = freshness
    }

    public var cursors: [String: Int64] { state.withLock { $0.cursors } }

    /// Takes in events read from the site store (other gateways' only), and marks the read time.
    public func heard(_ events: [SiteLotEvent], at time: Date = Date()) {
        state.withLock { state in
            for event in events where event.gateway != gateway {
                guard event.event.id > state.cursors[event.gateway] ?? 0 else { continue }
                state.events[event.event.lot, default: []].append(event)
                state.cursors[event.gateway] = event.event.id
                state.pending.insert(event.event.lot)
            }
            state.synced = time
            state.lastError = nil
        }
    }

    public func failed(_ error: String) {
        state.withLock { $0.lastError = error }
    }

    /// Marks lots to follow again (their following failed, or this gateway's own actions changed).
    public func markPending(_ lots: some Sequence<String>) {
        state.withLock { $0.pending.formUnion(lots) }
    }

    /// The lots with news, cleared.
    public func takePending() -> Set<String> {
        state.withLock { state in
            defer { state.pending = [] }
            return state.pending
        }
    }

    /// The other gateways' events of `lot`.
    public func events(of lot: String) -> [SiteLotEvent] {
        state.withLock { $0.events[lot] ?? [] }
    }

    /// Whether the last read is recent enough, and the site store still answering, to answer
    /// "the site has no such lot".
    public var isFresh: Bool {
        state.withLock { state in
            state.lastError == nil && (state.synced.map { Date().timeIntervalSince($0) <= freshness.secondsValue } ?? false)
        }
    }

    /// Why the site store cannot be asked now, for an operator.
    public var unreachableDetail: String {
        state.withLock { state in
            let last = state.synced.map { "last read \(UTCTime.format($0))" } ?? "not read since this daemon started"
            return state.lastError.map { "\(last); last error: \($0)" } ?? last
        }
    }

    public var syncedText: String {
        state.withLock { state in state.synced.map { UTCTime.format($0) } ?? "never" }
    }

    /// The lot's site-wide path, from the other gateways' events and this gateway's own (`local`).
    public func path(of lot: String, local: [LotEvent]) -> [SitePlacement] {
        SitePath.fold(events(of: lot) + local.map { SiteLotEvent(gateway: gateway, event: $0) })
    }
}

extension Duration {
    var secondsValue: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
