import Foundation

/// A deviation as stored and audited: the record that lots were exposed to conditions outside
/// their spec, or that we cannot prove they were not (missing data).
public struct DeviationRecord: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable {
        /// A value past a limit for longer than its delay (or past a critical limit).
        case excursion
        /// No valid reading for longer than `max_gap` while lots were inside.
        case dataGap = "data_gap"
        /// As a data gap, but the sensor said it had no measurement (sentinel, NaN).
        case sensorFault = "sensor_fault"
    }

    public enum State: String, Sendable, Codable, CaseIterable {
        case open, recovered, acknowledged, closed
    }

    /// e.g. DEV-2026-0007: the year of its start and its number in that year.
    public var id: String
    public var kind: Kind
    public var device: String
    public var channel: String
    public var unit: String?
    /// The limit broken (for a gap: `max_gap`, its value in seconds).
    public var limit: AlertEvent.Limit
    /// The first out-of-spec reading (for a gap: the last valid reading), UTC milliseconds.
    public var start: Int64
    /// When the deviation was opened (the delay ran out, or a critical limit was passed).
    public var opened: Int64
    public var valueAtOpening: Double?
    public var critical: Bool
    /// When conditions were back within limits (the first reading of the hold that held).
    public var end: Int64?
    public var worst: Double?
    /// Size out of spec in unit-minutes (e.g. %-minutes, °C-minutes); nil for gaps.
    public var size: Double?
    /// Every lot exposed, sorted.
    public var lots: [String]
    public var ackedBy: String?
    public var ackedAt: Int64?
    public var ackComment: String?
    public var closedBy: String?
    public var closedAt: Int64?
    public var impact: String?

    public var state: State {
        if closedAt != nil { return .closed }
        if ackedAt != nil { return .acknowledged }
        if end != nil { return .recovered }
        return .open
    }

    /// Milliseconds from start to end (nil while open).
    public var duration: Int64? { end.map { $0 - start } }

    public var startDate: Date { Date(millisecondsSince1970: start) }
}
