import Foundation
import LabGate

/// Everything one lot's cells lived through, for QA at batch release: each placement with its
/// device, interval and per-channel statistics, charts, excursions and gaps; the deviations that
/// name the lot; the audit entries about it; and the integrity of the record.
public struct LotReport: Sendable, Codable {
    public var lot: String
    public var generated: Date
    public var site: String?
    public var store: String
    public var placements: [PlacementReport]
    public var deviations: [DeviationRecord]
    public var audit: [AuditEntry]
    public var integrity: Integrity
    /// Wall-clock steps whose window touches the lot's placements (`clock_stepped`, audited).
    public var clockSteps: [ClockStep] = []
    /// Per deviation id, every notification attempt that named it (who was told, when, how it went).
    public var notifications: [String: [NotificationAttempt]] = [:]
    /// Every electronic signature on the lot's record: on the lot (approvals), on its deviations,
    /// and any other naming the lot, oldest first.
    public var signatures: [Signature] = []
    /// QA's approval for batch release: approved, superseded (the record changed since) or not approved.
    public var approval: LotApproval? = nil
    /// The first page: what a QA reviewer signs from (`makeSummary()` of the rest).
    public var summary: Summary? = nil
    /// A site report: each gateway that held the lot, how far its record reaches at the site
    /// and its chains there (nil for a gateway's own store).
    public var gateways: [GatewayRecord]? = nil

    /// One gateway's part of a site report.
    public struct GatewayRecord: Sendable, Codable {
        public var id: String
        /// Its newest reading of the lot's series at the site, and its last forward.
        public var forwardedUntil: Date?
        public var lastForward: Date?
        /// Set when its forwarding lags behind the end of its placements: the record is incomplete there.
        public var incomplete: String?
        public var auditEntries: Int64
        public var seals: Int64
    }

    /// One placement: the lot inside one device over an interval.
    public struct PlacementReport: Sendable, Codable {
        public var device: String
        public var spec: String
        public var start: Date
        /// nil while the lot is still inside (the report then runs to `until`).
        public var end: Date?
        public var until: Date
        public var startedBy: String
        public var endedBy: String?
        public var correctedBy: String?
        public var channels: [ChannelReport]
        /// The gateway that held the lot (a site report; nil for a gateway's own store).
        public var gateway: String? = nil
        /// The gateway whose placement of the lot ended this one at site level, before this
        /// gateway's own end (a site report).
        public var endedByGateway: String? = nil
    }

    /// One channel of a placement's device.
    public struct ChannelReport: Sendable, Codable {
        public var channel: String
        public var unit: String
        /// The field the values were decoded with at the placement's start (register, type,
        /// scale, offset, unit), and where that came from: the store's record, or today's config
        /// for a store that recorded none.
        public var field: SeriesDescription?
        public var fieldSource: DefinitionSource
        /// Fields that replaced it during the placement (a reload changed the scale, the register...).
        public var fieldChanges: [FieldChange]
        /// The resolution values are shown at (the finest of the placement's fields).
        public var resolution: ValueResolution?
        /// The spec band at the placement's start, where it came from, and its changes during it.
        public var band: SpecBand?
        public var bandSource: DefinitionSource
        public var bandChanges: [BandChange]
        /// Seconds between polls: the device's `every`, or the median spacing when inferred.
        public var every: Double
        public var everyInferred: Bool
        public var statistics: LotStatistics.Summary
        public var completeness: LotStatistics.Completeness
        /// Runs of good readings outside the spec band.
        public var excursions: [LotStatistics.Span]
        /// The chart's data: per pixel column the min and max, so no extreme is lost.
        public var chart: [LotStatistics.Column]
    }

    /// The spec's limits for one channel.
    public struct SpecBand: Sendable, Codable, Hashable {
        public var low: Double?
        public var high: Double?
        public var criticalLow: Double?
        public var criticalHigh: Double?

        public init(low: Double? = nil, high: Double? = nil, criticalLow: Double? = nil, criticalHigh: Double? = nil) {
            self.low = low
            self.high = high
            self.criticalLow = criticalLow
            self.criticalHigh = criticalHigh
        }

        public func contains(_ value: Double) -> Bool {
            (low.map { value >= $0 } ?? true) && (high.map { value <= $0 } ?? true)
        }
    }

    /// Whether the lot's record still matches what was first recorded: the whole audit chain, the
    /// chain of reading seals by their hashes, the lot's readings against their seals (each
    /// series of each placement re-hashed, never other devices'), every lot event and deviation.
    /// `labgate audit verify` is the whole-store check.
    public struct Integrity: Sendable, Codable {
        public var ok: Bool
        /// What does not match, first problem first.
        public var problems: [String]
        public var auditEntries: Int
        /// Reading rows re-hashed: the lot's series over its placements (and the rest of the
        /// batches at their edges).
        public var readingsChecked: Int
        /// Seals in the chain, each checked by its hash.
        public var sealsInChain: Int
        /// Seal entries (a series in one batch) whose readings were re-hashed.
        public var sealsChecked: Int
        /// The hash of the newest audit entry: the anchor every earlier entry chains to.
        public var auditHead: String
        public var auditHeadSeq: Int64
        public var readingSealHead: String
        /// The latest anchor outside the store the record was checked against (`AnchorCheck`),
        /// nil when none was found or none was asked for.
        public var anchor: String? = nil
        /// What kept the anchor check from being whole (a source that could not be read).
        public var anchorNotes: [String]? = nil
    }

    public var readingCount: Int { placements.reduce(0) { $0 + $1.channels.reduce(0) { $0 + $1.statistics.count } } }
}
