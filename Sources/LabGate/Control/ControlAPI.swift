import Foundation

/// The JSON bodies of the control socket's requests and replies (HTTP/1.1 over a Unix socket).
public enum ControlAPI {
    public struct StartLot: Codable, Sendable {
        public var lot: String
        public var device: String
        public var spec: String
        public var note: String?
        public init(lot: String, device: String, spec: String, note: String?) {
            self.lot = lot
            self.device = device
            self.spec = spec
            self.note = note
        }
    }

    public struct MoveLot: Codable, Sendable {
        public var device: String
        public var spec: String?
        public var note: String?
        public init(device: String, spec: String?, note: String?) {
            self.device = device
            self.spec = spec
            self.note = note
        }
    }

    public struct CorrectLot: Codable, Sendable {
        /// The id of the action to correct (`#N` in `labgate lot show`).
        public var event: Int64
        public var device: String?
        public var spec: String?
        /// When the action really took effect (UTC, e.g. 2026-11-24T08:05:00Z).
        public var at: String?
        public var reason: String
        /// The signer's password, when the correction is signed (`signatures`); never stored.
        public var password: String?
        /// The action never happened (e.g. a move recorded for the wrong lot): it is voided.
        public var void: Bool?
        public init(
            event: Int64, device: String?, spec: String?, at: String?, reason: String, password: String? = nil, void: Bool? = nil
        ) {
            self.void = void
            self.event = event
            self.device = device
            self.spec = spec
            self.at = at
            self.reason = reason
            self.password = password
        }
    }

    public struct EndLot: Codable, Sendable {
        public var note: String?
        public init(note: String?) { self.note = note }
    }

    public struct Acknowledge: Codable, Sendable {
        public var comment: String
        /// The signer's password, when the acknowledgement is signed (`signatures`); never stored.
        public var password: String?
        public init(comment: String, password: String? = nil) {
            self.comment = comment
            self.password = password
        }
    }

    public struct Close: Codable, Sendable {
        public var impact: String
        /// The signer's password, when the closure is signed (`signatures`); never stored.
        public var password: String?
        public init(impact: String, password: String? = nil) {
            self.impact = impact
            self.password = password
        }
    }

    public struct Failure: Codable, Sendable {
        public var error: String

        package init(error: String) {
            self.error = error
        }
    }

    public struct WhoAmI: Codable, Sendable {
        public var user: String
        public var uid: UInt32
        public var groups: [String]
        public var roles: [String]

        package init(user: String, uid: UInt32, groups: [String], roles: [String]) {
            self.user = user
            self.uid = uid
            self.groups = groups
            self.roles = roles
        }
    }

    public struct PlacementView: Codable, Sendable {
        public var device: String
        public var spec: String
        public var start: String
        public var end: String?
        public var startedBy: String
        public var endedBy: String?
        public var correctedBy: String?
    }

    public struct EventView: Codable, Sendable {
        public var id: Int64
        public var action: String
        public var device: String?
        public var spec: String?
        public var time: String
        public var user: String
        public var note: String?
        public var corrects: Int64?
        public var effective: String?
    }

    public struct LotView: Codable, Sendable {
        public var lot: String
        /// `inside`, `ended`, or `left` (another gateway took it: see its last `left` event).
        public var state: String
        public var device: String?
        public var spec: String?
        public var since: String?
        public var placements: [PlacementView]
        public var events: [EventView]
        /// `lot show`: the signatures on the lot's record and its approval state.
        public var signatures: [SignatureView]?
        public var approval: ApprovalView?

        package init(lot: String, events: [LotEvent]) {
            self.lot = lot
            let placements = Placement.fold(events)
            let current = placements.last.flatMap { $0.end == nil ? $0 : nil }
            let left = Placement.current(events) == nil && events.last { $0.action != .correct && $0.action != .void }?.action == .left
            state = current != nil ? "inside" : left ? "left" : "ended"
            device = current?.device
            spec = current?.spec
            since = current.map { ControlAPI.time($0.start) }
            self.placements = placements.map {
                PlacementView(
                    device: $0.device, spec: $0.spec, start: ControlAPI.time($0.start), end: $0.end.map(ControlAPI.time),
                    startedBy: $0.startedBy, endedBy: $0.endedBy, correctedBy: $0.correctedBy)
            }
            self.events = events.map {
                EventView(
                    id: $0.id, action: $0.action.rawValue, device: $0.device, spec: $0.spec, time: ControlAPI.time($0.time),
                    user: $0.user, note: $0.note, corrects: $0.corrects, effective: $0.effective.map(ControlAPI.time))
            }
        }
    }

    public struct DeviationView: Codable, Sendable {
        public var id: String
        public var kind: String
        public var state: String
        public var device: String
        public var channel: String
        public var unit: String?
        public var limit: AlertEvent.Limit
        public var start: String
        public var opened: String
        public var end: String?
        /// e.g. "12m30s"
        public var duration: String?
        public var valueAtOpening: Double?
        public var worst: Double?
        public var size: Double?
        public var sizeUnit: String
        /// While open: the worst value and size so far (the record holds them once recovered).
        public var worstSoFar: Double?
        public var sizeSoFar: Double?
        public var critical: Bool
        public var lots: [String]
        public var acknowledgedBy: String?
        public var acknowledgedAt: String?
        public var comment: String?
        public var closedBy: String?
        public var closedAt: String?
        public var impact: String?
        /// `deviations show`: every notification attempt that named it, oldest first, and its alarms.
        public var notifications: [NotificationView]?
        public var alarms: [AlarmView]?
        /// The electronic signatures on it (acknowledged, QA reviewed), oldest first.
        public var signatures: [SignatureView]?

        public init(_ record: DeviationRecord) {
            id = record.id
            kind = record.kind.rawValue
            state = record.state.rawValue
            device = record.device
            channel = record.channel
            unit = record.unit
            limit = record.limit
            start = ControlAPI.time(record.start)
            opened = ControlAPI.time(record.opened)
            end = record.end.map(ControlAPI.time)
            duration = record.duration.map { DurationText.format(.milliseconds($0)) }
            valueAtOpening = record.valueAtOpening
            worst = record.worst
            size = record.size
            sizeUnit = DeviationAlerts.sizeUnit(record)
            critical = record.critical
            lots = record.lots
            acknowledgedBy = record.ackedBy
            acknowledgedAt = record.ackedAt.map(ControlAPI.time)
            comment = record.ackComment
            closedBy = record.closedBy
            closedAt = record.closedAt.map(ControlAPI.time)
            impact = record.impact
        }
    }

    public struct AuditView: Codable, Sendable {
        public var seq: Int64
        public var time: String
        public var user: String
        public var action: String
        public var object: String
        public var old: String?
        public var new: String?
        public var reason: String?
        public var hash: String

        public init(_ entry: AuditEntry) {
            seq = entry.seq
            time = UTCTime.format(entry.time)
            user = entry.user
            action = entry.action
            object = entry.object
            old = entry.old
            new = entry.new
            reason = entry.reason
            hash = entry.hash
        }
    }

    static func time(_ ms: Int64) -> String { UTCTime.format(Date(millisecondsSince1970: ms)) }

    /// Pretty, sorted JSON for replies (people read them through curl too).
    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
