import Foundation
import LabGate
import LabGateClient
import SiteStore

extension SiteStatus {
    /// `labgate status --site` for a terminal: each gateway with its last forward and lag (SILENT
    /// past `silentAfter`), then each of its devices as it last forwarded them.
    func text(url: String, silentAfter: Duration, this gateway: String?) -> String {
        let limit = Double(silentAfter.components.seconds)
        func age(_ seconds: Double) -> String { DurationText.format(.seconds(Int64(max(0, seconds).rounded()))) }
        var lines = ["site store \(url): \(gateways.count) gateways, as of \(UTCTime.format(time))"]
        for g in gateways {
            lines.append("")
            let state = g.silentFor >= limit ? "SILENT" : "FORWARDING"
            lines.append("gateway \(g.id)\(g.id == gateway ? " (this gateway)" : "")  \(state)")
            lines.append("  last forward \(UTCTime.format(g.lastForward)) (\(age(g.silentFor)) ago); first \(UTCTime.format(g.firstForward))")
            lines.append("  lag: newest reading at the site \(g.newestReading.map { "\(UTCTime.format($0)) (\(age(g.lagSeconds ?? 0)) old)" } ?? "none"), readings confirmed up to \(g.readingsConfirmed)")
            for d in g.devices {
                var line = "  \(d.id)  \(d.state)  last answer \(d.lastAnswer.map { UTCTime.format($0) } ?? "never")"
                line += "  polls \(d.pollsAnswered) answered, \(d.pollsFailed) failed  (status of \(UTCTime.format(d.updated)))"
                if let error = d.lastError, d.consecutiveFailures > 0 { line += "  last error: \(error)" }
                lines.append(line)
            }
            if g.devices.isEmpty { lines.append("  no device status forwarded yet") }
        }
        return lines.map(TerminalText.escape).joined(separator: "\n") + "\n"
    }
}
