import Foundation
import LabGate

/// The report's first page (what a QA reviewer signs from), its signatures, and its audit
/// entries as sentences.
extension LotReport {
    func summaryPage() -> String {
        let s = summary ?? makeSummary()
        var h = "<section class=\"summary\"><h2>Summary for QA review</h2>"
        h += "<table class=\"dev\"><tr><th>lot</th><td>\(esc(s.lot)): \(esc(s.where_))</td></tr>"
        h += "<tr><th>approval</th><td class=\"\(s.approval == "approved" ? "ok" : "fail")\">\(esc(s.approval.uppercased()))</td></tr>"
        if s.approval != "not approved" { h += "<tr><th></th><td>\(esc(s.approvalStatement))</td></tr>" }
        h += "<tr><th>integrity</th><td><span class=\"\(s.integrityOK ? "ok" : "fail")\">\(s.integrityOK ? "OK" : "FAILED")</span> \(esc(s.integrity))</td></tr>"
        for note in s.incomplete ?? [] { h += "<tr><th>completeness</th><td><span class=\"fail\">INCOMPLETE</span> \(esc(note))</td></tr>" }
        h += "<tr><th>signatures</th><td>\(s.signatures) (see Signatures)</td></tr></table>"
        h += "<h3>Placements</h3><table><tr><th>device</th><th>spec</th><th>from</th><th>to</th><th>by</th></tr>"
        for p in s.placements {
            h += "<tr><td>\(esc(p.device))</td><td>\(esc(p.spec))</td><td>\(esc(p.from))</td><td>\(esc(p.to ?? "inside"))</td><td>\(esc(p.by))</td></tr>"
        }
        h += "</table><h3>Per channel</h3><table><tr><th>device</th><th>channel</th><th>time in spec</th><th>completeness</th><th>gaps</th><th>excursions</th></tr>"
        for c in s.channels {
            let complete = c.completeness.map { String(format: "%.2f %%", $0) } ?? "—"
            h += "<tr><td>\(esc(c.device))</td><td>\(esc(c.channel))\(c.unit.isEmpty ? "" : " (" + esc(c.unit) + ")")</td>"
            h += "<td>\(c.timeInSpec.map { String(format: "%.2f %%", $0) } ?? "— (no spec band)")</td>"
            h += "<td>\(complete) (\(c.received) of \(c.expected))</td><td>\(c.gaps)</td><td>\(c.excursions)</td></tr>"
        }
        h += "</table><h3>Deviations (\(s.deviations.count))</h3>"
        if s.deviations.isEmpty {
            h += "<p>No deviation names this lot.</p>"
        } else {
            h += "<table><tr><th>deviation</th><th>state</th><th>what</th><th>acknowledged</th><th>closed</th></tr>"
            for d in s.deviations {
                h += "<tr><td>\(esc(d.id))</td><td class=\"\(d.state == "closed" ? "ok" : "fail")\">\(esc(d.state))</td><td>\(esc(d.what))</td>"
                h += "<td>\(esc(d.acknowledged ?? "—"))</td><td>\(esc(d.closed ?? "—"))</td></tr>"
            }
            h += "</table>"
        }
        return h + "</section>\n"
    }

    /// Each signature as 21 CFR 11.50 asks it to be shown: printed name, date and time, meaning.
    func signatureSection() -> String {
        var h = "<h2>Signatures (\(signatures.count))</h2>"
        if let approval {
            h += "<p>Approval for batch release: <span class=\"\(approval.state == .approved ? "ok" : "fail")\">\(esc(approval.state.rawValue))</span>"
            if approval.state != .notApproved { h += ". " + esc(approval.statement) }
            if let signed = approval.approvedSHA256 { h += "<br>Signed record SHA-256 <code>\(esc(signed))</code>" }
            if let current = approval.currentSHA256, current != approval.approvedSHA256 { h += "<br>Record SHA-256 now <code>\(esc(current))</code>" }
            h += "</p>"
        }
        guard !signatures.isEmpty else { return h + "<p>No electronic signature is on this lot's record.</p>\n" }
        h += "<table><tr><th>signed by</th><th>time (UTC)</th><th>meaning</th><th>on</th><th>content SHA-256</th><th>audit entry</th></tr>"
        for sig in signatures {
            h += "<tr><td>\(esc(sig.printedName))</td><td>\(esc(sig.signedAt))</td><td>\(esc(sig.meaning))</td>"
            h += "<td>\(esc(sig.subjectKind.rawValue)) \(esc(sig.subject))</td><td><code>\(esc(String(sig.contentSHA256.prefix(16))))…</code></td><td>\(sig.auditSeq)</td></tr>"
        }
        return h + "</table>\n"
    }

    /// The audit entries about the lot, one sentence each, grouped by UTC day.
    func auditSentences() -> String {
        var h = "<h2>Audit entries about the lot (\(audit.count))</h2>"
        var day = ""
        for entry in audit {
            let stamp = UTCTime.format(entry.time)
            let date = String(stamp.prefix(10))
            if date != day {
                h += (day.isEmpty ? "" : "</ul>") + "<h3>\(esc(date)) (UTC)</h3><ul class=\"audit\">"
                day = date
            }
            let clock = stamp.dropFirst(11).prefix(8)
            h += "<li>\(esc(String(clock))) \(esc(AuditSentence.text(entry))) <small>#\(entry.seq)</small></li>"
        }
        return h + (day.isEmpty ? "<p>None.</p>" : "</ul>") + "\n"
    }
}
