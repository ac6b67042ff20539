import Foundation
import GRDB
import LabGate

extension LotReport {
    /// The wall-clock steps (`clock_stepped` in the audit trail) whose window — from the time that
    /// was due to the time the clock read — touches the span of the lot's placements: readings
    /// and records stamped around them carry the stepped time, and the report says so.
    static func clockSteps(from: Int64, to: Int64, db: Database) throws -> [ClockStep] {
        try String.fetchAll(db, sql: "SELECT new FROM audit WHERE action = 'clock_stepped' ORDER BY seq")
            .compactMap { try? AuditJSON.decode(ClockStep.self, $0) }
            .filter { min($0.expected, $0.read) <= to && max($0.expected, $0.read) >= from }
    }

    func clockStepSection() -> String {
        guard !clockSteps.isEmpty else { return "" }
        var h = "<h2>Wall-clock steps during the lot (\(clockSteps.count))</h2>"
        h += "<p class=\"fail\">The host's wall clock was stepped while the lot was monitored: times recorded around a step carry the stepped clock. Delays, holds and data gaps ran on the monotonic clock and were not moved.</p><ul>"
        for step in clockSteps { h += "<li>\(esc(step.summary))</li>" }
        return h + "</ul>\n"
    }

}
