import Foundation
import Synchronization

/// Which lots are (and were) inside which device, kept in memory for tagging readings. Loaded
/// from the store's lot events at start and updated after each committed lot action.
///
/// Two views: the placements of every lot by their recorded wall-clock times (`exposure(at:)`,
/// `placements`: what the record says), and the live view that tags readings as they are taken
/// (`inside(at:)`): the lots each device holds as the lot actions left it, in the order they were
/// committed, each state from the monotonic instant it was committed. A wall clock stepped back
/// or forward (an NTP correction, a wrong RTC at boot) thus never takes a lot out of the device
/// it is in, nor puts one in early.
public final class LotRegistry: Sendable {
    private struct State {
        var events: [String: [LotEvent]] = [:]
        var placements: [String: [Placement]] = [:]
        var byDevice: [String: [Placement]] = [:]
        /// Each lot's device and spec now, by its actions in commit order (nil once ended).
        var whereabouts: [String: (device: String, spec: String)] = [:]
        /// Each device's lots as committed actions left them, oldest first, each from the instant
        /// it was committed (nil: from before this process, or older than anything still asked).
        var live: [String: [(since: ContinuousClock.Instant?, lots: [LotSpec])]] = [:]
    }

    private let state = Mutex(State())

    /// How long a live state is kept after a newer one: a poll is tagged within moments of being
    /// taken, so older states are never asked for.
    static let liveHistory = Duration.seconds(600)

    public init(events: [LotEvent] = []) {
        for event in events { apply(event, at: nil) }
    }

    /// Adds a committed event, committed now (tests: at `instant`; nil for events from before
    /// this process).
    public func apply(_ event: LotEvent, at instant: ContinuousClock.Instant? = .now) {
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
            let was = state.whereabouts[event.lot]?.device
            state.whereabouts[event.lot] = Placement.current(state.events[event.lot]!)
            for device in Set([was, state.whereabouts[event.lot]?.device].compactMap { $0 }) {
                Self.record(device: device, at: instant, in: &state)
            }
        }
    }

    /// Appends `device`'s lots now to its live history, dropping states no poll can still need.
    private static func record(device: String, at instant: ContinuousClock.Instant?, in state: inout State) {
        let lots = state.whereabouts.filter { $0.value.device == device }.map { LotSpec(lot: $0.key, spec: $0.value.spec) }
            .sorted { $0.lot < $1.lot }
        var history = state.live[device] ?? []
        guard history.last?.lots != lots else { return }
        history.append((instant, lots))
        if let instant, let kept = history.lastIndex(where: { ($0.since ?? instant) <= instant - liveHistory }) {
            history.removeFirst(kept)
            history[0].since = nil
        }
        state.live[device] = history
    }

    /// The lots inside `device` at `time`, each with the spec it carries, sorted by lot id.
    public func exposure(device: String, at time: Date) -> [LotSpec] {
        let ms = time.millisecondsSince1970
        return state.withLock { state in
            (state.byDevice[device] ?? []).filter { $0.contains(ms) }.map { LotSpec(lot: $0.lot, spec: $0.spec) }
                .sorted { $0.lot < $1.lot }
        }
    }

    /// The lots inside `device` at the monotonic `instant` (a poll's), as the lot actions
    /// committed by then left it, each with the spec it carries, sorted by lot id.
    public func inside(device: String, at instant: ContinuousClock.Instant = .now) -> [LotSpec] {
        state.withLock { state in
            state.live[device]?.last { $0.since.map { $0 <= instant } ?? true }?.lots ?? []
        }
    }

    /// Every lot inside a device now (by its actions in commit order), with that device and the
    /// spec it carries, sorted by lot id.
    public var lotsInside: [(lot: String, device: String, spec: String)] {
        state.withLock { state in
            state.whereabouts.map { ($0.key, $0.value.device, $0.value.spec) }.sorted { $0.lot < $1.lot }
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
