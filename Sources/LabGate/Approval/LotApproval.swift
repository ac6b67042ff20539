import Foundation
import GRDB

/// Whether QA's approval of a lot for batch release still stands: the latest approval signature
/// on the lot, the content hash it signed, and the hash of the lot's record as it stands now over
/// the same span (`LotRecordDigest`). Any change to the record since (a late reading, a
/// correction, a new deviation or a deviation's next step) makes them differ: the approval is
/// superseded, and the lot can be approved again.
public struct LotApproval: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable {
        case approved, superseded
        case notApproved = "not approved"
    }

    public var state: State
    /// The latest approval signature (nil when never approved).
    public var signature: Signature?
    /// The end of what it covers (UTC): the lot's end, or the newest reading when approved inside.
    public var through: String?
    public var approvedSHA256: String?
    /// The record's hash now, over the same span.
    public var currentSHA256: String?
    /// What changed since, when superseded (one line each, e.g. "deviation DEV-2026-0002 is new").
    public var changes: [String]

    /// A lot never approved.
    public static let never = LotApproval(
        state: .notApproved, signature: nil, through: nil, approvedSHA256: nil, currentSHA256: nil, changes: [])

    /// The audit trail's action recording what an approval covered (object `lot LOT`).
    public static let auditAction = "lot_approved"

    /// What the approval's audit entry records: the span covered and the hash signed, so that the
    /// same span can be hashed again later.
    public struct Covered: Sendable, Codable, Hashable {
        public var through: Int64
        public var sha256: String
        public var series: [LotRecordDigest.Series]
        public var deviations: [String]
        public var events: Int

        public init(_ digest: LotRecordDigest) {
            through = digest.through
            sha256 = digest.sha256
            series = digest.series
            deviations = digest.deviations.map { "\($0.id) \($0.state.rawValue)" }
            events = digest.events.count
        }
    }

    /// One line for people: "approved for batch release by Carol Q (carol) at …",
    /// "superseded: …", "not approved".
    public var statement: String {
        switch state {
        case .notApproved: return "not approved"
        case .approved:
            return "approved for batch release by \(signature?.printedName ?? "?") at \(signature?.signedAt ?? "?"); the record has not changed since"
        case .superseded:
            return "superseded: approved by \(signature?.printedName ?? "?") at \(signature?.signedAt ?? "?"), and the record has changed since"
                + (changes.isEmpty ? "" : " (" + changes.joined(separator: "; ") + ")")
        }
    }

    /// The lot's approval state, read from the store.
    public static func of(lot: String, db: Database) throws -> LotApproval {
        let approvals = try Signature.on(.lot, [lot], db: db).filter { $0.action == .approve }
        guard let latest = approvals.last else { return .never }
        let recorded = try String.fetchAll(
            db, sql: "SELECT new FROM audit WHERE action = ? AND object = ? ORDER BY seq DESC",
            arguments: [auditAction, "lot \(lot)"]
        ).compactMap { try? AuditJSON.decode(Covered.self, $0) }
        let covered = recorded.first { $0.sha256 == latest.contentSHA256 }
        // Without its record of the span, the approval cannot be checked again: it is not taken as standing.
        guard let covered else {
            return LotApproval(
                state: .superseded, signature: latest, through: nil, approvedSHA256: latest.contentSHA256,
                currentSHA256: nil, changes: ["what the approval covered is not on record"])
        }
        let now = try LotRecordDigest.compute(lot: lot, through: covered.through, db: db)
        let current = now.sha256
        return LotApproval(
            state: current == latest.contentSHA256 ? .approved : .superseded, signature: latest,
            through: UTCTime.format(milliseconds: covered.through), approvedSHA256: latest.contentSHA256,
            currentSHA256: current, changes: current == latest.contentSHA256 ? [] : Self.changes(from: covered, to: now))
    }

    /// What differs between what was approved and the record now, as far as the approval's
    /// record of it tells.
    static func changes(from approved: Covered, to now: LotRecordDigest) -> [String] {
        var changes: [String] = []
        let before = Dictionary(approved.series.map { ("\($0.device) \($0.channel) \($0.from)", $0) }, uniquingKeysWith: { a, _ in a })
        for series in now.series {
            guard let old = before["\(series.device) \(series.channel) \(series.from)"] else {
                changes.append("\(series.device) \(series.channel): a placement not approved")
                continue
            }
            if old.to != series.to {
                changes.append("\(series.device) \(series.channel): the placement's interval changed")
            } else if old.readings != series.readings {
                changes.append("\(series.device) \(series.channel): \(series.readings - old.readings) reading(s) more")
            } else if old.sha256 != series.sha256 {
                changes.append("\(series.device) \(series.channel): readings changed")
            }
        }
        let deviations = Dictionary(
            approved.deviations.map { (String($0.split(separator: " ").first ?? ""), String($0.split(separator: " ").last ?? "")) },
            uniquingKeysWith: { a, _ in a })
        for deviation in now.deviations {
            if let state = deviations[deviation.id] {
                if state != deviation.state.rawValue { changes.append("\(deviation.id) is now \(deviation.state.rawValue)") }
            } else {
                changes.append("\(deviation.id) is new")
            }
        }
        if now.events.count != approved.events { changes.append("\(now.events.count - approved.events) lot action(s) since") }
        return changes
    }
}
