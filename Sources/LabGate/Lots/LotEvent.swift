import Foundation
import GRDB

/// One recorded lot action; placements are derived from these, never edited.
public struct LotEvent: Sendable, Codable, Hashable {
    public enum Action: String, Sendable, Codable {
        case start, move, end
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

    public var date: Date { Date(millisecondsSince1970: time) }

    static func fetchAll(_ db: Database, lot: String? = nil) throws -> [LotEvent] {
        var sql = "SELECT id, lot, action, device, spec, time, user, note FROM lot_event"
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
            time: row[5], user: row[6], note: row[7])
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

    public func contains(_ ms: Int64) -> Bool { start <= ms && (end.map { ms < $0 } ?? true) }

    /// The placements a lot's events describe, oldest first.
    static func fold(_ events: [LotEvent]) -> [Placement] {
        var placements: [Placement] = []
        var open: Int?
        for event in events {
            if let index = open {
                placements[index].end = event.time
                placements[index].endedBy = event.user
                open = nil
            }
            guard event.action != .end, let device = event.device else { continue }
            let spec = event.spec ?? placements.last?.spec ?? ""
            placements.append(Placement(
                lot: event.lot, device: device, spec: spec, start: event.time, end: nil, startedBy: event.user))
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
