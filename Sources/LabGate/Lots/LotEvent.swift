import Foundation
import GRDB

/// One recorded lot action; placements are derived from these, never edited.
public struct LotEvent: Sendable, Codable, Hashable {
    public enum Action: String, Sendable, Codable {
        case start, move, end
        /// Corrects an earlier event (wrong device, spec or time); never edits it.
        case correct
        /// The lot left this gateway: another gateway's placement of it started (at `effective`,
        /// the other gateway's time, not when this one heard). Recorded by the daemon when it
        /// hears from the site store; the note names the gateway that took the lot.
        case left
        /// Says that an earlier event (`corrects`) never happened (e.g. a move recorded for the
        /// wrong lot); that event stays on record.
        case void
    }

    public var id: Int64
    public var lot: String
    public var action: Action
    /// The device the lot is in after the action (nil for `end`).
    public var device: String?
    /// The spec the lot carries after the action (nil for `end`).
    public var spec: String?
    /// UTC milliseconds.
    public var time: Int64
    public var user: String
    public var note: String?
    /// For a correction: the event it corrects.
    public var corrects: Int64?
    /// For a correction: when the corrected event really took effect (UTC milliseconds). For
    /// `left`: when the other gateway's placement started.
    public var effective: Int64?

    public init(
        id: Int64, lot: String, action: Action, device: String?, spec: String?, time: Int64, user: String,
        note: String? = nil, corrects: Int64? = nil, effective: Int64? = nil
    ) {
        self.id = id
        self.lot = lot
        self.action = action
        self.device = device
        self.spec = spec
        self.time = time
        self.user = user
        self.note = note
        self.corrects = corrects
        self.effective = effective
    }

    public var date: Date { Date(millisecondsSince1970: time) }

    package static func fetchAll(_ db: Database, lot: String? = nil) throws -> [LotEvent] {
        var sql = "SELECT id, lot, action, device, spec, time, user, note, corrects, effective FROM lot_event"
        var arguments: StatementArguments = []
        if let lot {
            sql += " WHERE lot = ?"
            arguments = [lot]
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map(event)
    }

    static func event(_ row: Row) -> LotEvent {
        LotEvent(
            id: row[0], lot: row[1], action: Action(rawValue: row[2]) ?? .end, device: row[3], spec: row[4],
            time: row[5], user: row[6], note: row[7], corrects: row[8], effective: row[9])
    }
}

/// A lot inside one device over an interval, with the spec it carried there.
public struct Placement: Sendable, Codable, Hashable {
    public var lot: String
    public var device: String
    public var spec: String
    /// UTC milliseconds; `end` is nil while the lot is inside.
    public var start: Int64
    public var end: Int64?
    public var startedBy: String
    public var endedBy: String?
    /// Who corrected the start of this placement afterwards (a correction event), if anyone.
    public var correctedBy: String?

    public func contains(_ ms: Int64) -> Bool { start <= ms && (end.map { ms < $0 } ?? true) }

    /// A lot's actions as they stand after their corrections, in the order they took effect:
    /// each corrected event carries the corrected device, spec and time.
    static func corrected(_ events: [LotEvent]) -> [LotEvent] {
        let voided = Set(events.filter { $0.action == .void }.compactMap(\.corrects))
        var actions = events.filter { $0.action != .correct && $0.action != .void && !voided.contains($0.id) }.map { event in
            var event = event
            if event.action == .left, let effective = event.effective { event.time = effective }
            return event
        }
        for correction in events where correction.action == .correct {
            guard let index = actions.firstIndex(where: { $0.id == correction.corrects }) else { continue }
            if let device = correction.device { actions[index].device = device }
            if let spec = correction.spec { actions[index].spec = spec }
            if let effective = correction.effective { actions[index].time = effective }
        }
        return actions.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// Where a lot is now, by its actions in the order they were committed (`events` as stored,
    /// by id), each with the device and spec its corrections give it: the device and the spec it
    /// carries, or nil once ended. Recorded times do not decide: a wall clock stepped back makes
    /// a later action carry an earlier time.
    package static func current(_ events: [LotEvent]) -> (device: String, spec: String)? {
        var corrections: [Int64: LotEvent] = [:]
        for event in events where event.action == .correct {
            guard let target = event.corrects else { continue }
            var merged = corrections[target] ?? event
            if let device = event.device { merged.device = device }
            if let spec = event.spec { merged.spec = spec }
            corrections[target] = merged
        }
        let voided = Set(events.filter { $0.action == .void }.compactMap(\.corrects))
        var now: (device: String, spec: String)?
        var spec: String?
        for event in events where event.action != .correct && event.action != .void && !voided.contains(event.id) {
            let correction = corrections[event.id]
            guard event.action != .end, let device = correction?.device ?? event.device else {
                now = nil
                continue
            }
            spec = correction?.spec ?? event.spec ?? spec
            now = (device, spec ?? "")
        }
        return now
    }

    /// The placements a lot's events describe (after corrections), oldest first.
    package static func fold(_ events: [LotEvent]) -> [Placement] {
        var placements: [Placement] = []
        var open: Int?
        var correctors: [Int64: String] = [:]
        for event in events where event.action == .correct {
            if let target = event.corrects { correctors[target] = event.user }
        }
        for event in corrected(events) {
            if let index = open {
                placements[index].end = event.time
                placements[index].endedBy = event.user
                open = nil
            }
            guard event.action != .end, let device = event.device else { continue }
            let spec = event.spec ?? placements.last?.spec ?? ""
            placements.append(Placement(
                lot: event.lot, device: device, spec: spec, start: event.time, end: nil, startedBy: event.user,
                correctedBy: correctors[event.id]))
            open = placements.count - 1
        }
        return placements
    }
}

/// A lot inside a device with the spec it carries there.
public struct LotSpec: Sendable, Hashable, Codable {
    public var lot: String
    public var spec: String

    public init(lot: String, spec: String) {
        self.lot = lot
        self.spec = spec
    }
}
