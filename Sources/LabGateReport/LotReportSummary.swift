import Foundation
import LabGate

extension LotReport {
    /// The report's first page: what a QA reviewer signs from. The lot and where it was, each
    /// channel's time in spec and completeness, each deviation with its state, the integrity
    /// statement and the approval state; the same facts in the HTML, the JSON and the summary CSV.
    public struct Summary: Sendable, Codable {
        public struct Placement: Sendable, Codable {
            public var device: String
            public var spec: String
            public var from: String
            /// nil while the lot is inside.
            public var to: String?
            public var by: String
        }

        public struct Channel: Sendable, Codable {
            public var device: String
            public var channel: String
            public var unit: String
            /// Share of good readings inside the spec band, % (nil without a band or readings).
            public var timeInSpec: Double?
            /// Good readings received against those expected, % (nil when none were expected).
            public var completeness: Double?
            public var received: Int
            public var expected: Int
            public var gaps: Int
            public var excursions: Int
        }

        public struct Deviation: Sendable, Codable {
            public var id: String
            public var state: String
            /// "excursion on INC-01 co2 (high 5.5 %), 2026-… to 2026-…".
            public var what: String
            public var acknowledged: String?
            public var closed: String?
        }

        public var lot: String
        /// "inside INC-01 since …" or "ended …".
        public var where_: String
        public var placements: [Placement]
        public var channels: [Channel]
        public var deviations: [Deviation]
        public var integrityOK: Bool
        public var integrity: String
        /// approved, superseded, not approved.
        public var approval: String
        public var approvalStatement: String
        public var signatures: Int
        /// A site report: the gateways whose forwarding lags behind the lot's record there.
        public var incomplete: [String]? = nil

        enum CodingKeys: String, CodingKey {
            case lot, where_ = "where", placements, channels, deviations, integrityOK, integrity, approval, approvalStatement
            case signatures, incomplete
        }
    }

    /// The summary of this report, from its own figures.
    public func makeSummary() -> Summary {
        let last = placements.last
        let place = last.map { $0.end == nil ? "inside \($0.device) since \(UTCTime.format($0.start))" : "ended \(UTCTime.format($0.end ?? $0.until))" } ?? "never placed"
        let integrityText = gateways != nil
            ? (integrity.ok
                ? "Integrity OK at the site: the audit and seal chains of every gateway that held the lot (\(gateways?.count ?? 0)) match what was first recorded."
                : "Integrity check FAILED at the site: \(integrity.problems.first ?? "records changed since they were first recorded").")
            : integrity.ok
            ? "Integrity OK: every audit entry, reading seal, lot event and deviation in the store, and every reading of the lot, matches what was first recorded (audit head entry \(integrity.auditHeadSeq))."
            : "Integrity check FAILED: \(integrity.problems.first ?? "records changed since they were first recorded")."
        let approval = self.approval ?? .never
        return Summary(
            lot: lot, where_: place,
            placements: placements.map {
                Summary.Placement(
                    device: $0.device + ($0.gateway.map { " (gateway \($0))" } ?? ""), spec: $0.spec, from: UTCTime.format($0.start), to: $0.end.map(UTCTime.format),
                    by: $0.startedBy + ($0.endedBy.map { " / " + $0 } ?? "") + ($0.correctedBy.map { " (corrected by \($0))" } ?? ""))
            },
            channels: placements.flatMap { p in
                p.channels.map {
                    Summary.Channel(
                        device: p.device, channel: $0.channel, unit: $0.unit, timeInSpec: $0.statistics.timeInSpec,
                        completeness: $0.completeness.percent, received: $0.completeness.received,
                        expected: $0.completeness.expected, gaps: $0.completeness.gaps.count, excursions: $0.excursions.count)
                }
            },
            deviations: deviations.map { d in
                func time(_ ms: Int64) -> String { UTCTime.format(milliseconds: ms) }
                let kind = d.kind == .excursion ? (d.critical ? "critical excursion" : "excursion") : d.kind.rawValue.replacingOccurrences(of: "_", with: " ")
                let limit = "\(d.limit.name.replacingOccurrences(of: "_", with: " ")) \(String(format: "%.2f", d.limit.value))\(d.unit.map { " " + $0 } ?? "")"
                return Summary.Deviation(
                    id: d.id, state: d.state.rawValue,
                    what: "\(kind) on \(d.device) \(d.channel) (\(limit)), \(time(d.start)) to \(d.end.map(time) ?? "still open")",
                    acknowledged: d.ackedAt.map { "\(time($0)) by \(d.ackedBy ?? "?"): \(d.ackComment ?? "")" },
                    closed: d.closedAt.map { "\(time($0)) by \(d.closedBy ?? "?"): \(d.impact ?? "")" })
            },
            integrityOK: integrity.ok, integrity: integrityText, approval: approval.state.rawValue,
            approvalStatement: approval.statement, signatures: signatures.count,
            incomplete: gateways.map { $0.compactMap(\.incomplete) })
    }
}
