import Foundation
import Synchronization

/// Which lots are (and were) inside which device: the placements of every lot, kept in memory
/// for tagging readings. Loaded from the store's lot events at start and updated after each
/// committed lot action.
public final class LotRegistry: Sendable {
    private struct State {
        var events: [String: [LotEvent]] = [:]
        var placements: [String: [Placement]] = [:]
        var byDevice: [String: [Placement]] = [:]
    }

    private let state = Mutex(State())

    public init(events: [LotEvent] = []) {
        for event in events { apply(event) }
    }

    /// Adds a committed event.
    public func apply(_ event: LotEvent) {
        state.withLock { state in
            state.events[event.lot, default: []].append(event)
            let before = state.placements[event.lot] ?? []
            let after = Placement.fold(state.events[event.lot]!)
            state.placements[event.lot] = after
            for device in Set((before + after).map(\.device)) {
                var list = state.byDevice[device, default: []].filter { $0.lot != event.lot }
                list += after.filter { $0.device == device }
                state.byDevice[device] = list
            }
        }
    }

    /// The lots inside `device` at `time`, each with the spec it carries, sorted by lot id.
    public func exposure(device: String, at time: Date) -> [LotSpec] {
        let ms = time.millisecondsSince1970
        return state.withLock { state in
            (state.byDevice[device] ?? []).filter { $0.contains(ms) }.map { LotSpec(lot: $0.lot, spec: $0.spec) }
                .sorted { $0.lot < $1.lot }
        }
    }

    public func events(of lot: String) -> [LotEvent] {
        state.withLock { $0.events[lot] ?? [] }
    }

    public func placements(of lot: String) -> [Placement] {
        state.withLock { $0.placements[lot] ?? [] }
    }

    /// Every lot id, sorted.
    public var lots: [String] {
        state.withLock { $0.events.keys.sorted() }
    }
}
