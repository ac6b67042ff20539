import Foundation
import LabGate

extension LotReport {
    /// The first page's facts and the signatures as CSV, one fact per line
    /// (`section,subject,field,value`), for a spreadsheet or a LIMS: the lot and its approval,
    /// the integrity statement, each placement, each channel's time in spec and completeness,
    /// each deviation with its state, each signature's manifestation.
    public func summaryCSV() -> String {
        let s = summary ?? makeSummary()
        var rows: [[String]] = [["section", "subject", "field", "value"]]
        func add(_ section: String, _ subject: String, _ field: String, _ value: String?) {
            rows.append([section, subject, field, value ?? ""])
        }
        add("lot", s.lot, "where", s.where_)
        add("lot", s.lot, "approval", s.approval)
        add("lot", s.lot, "approval_statement", s.approvalStatement)
        if let approval {
            add("lot", s.lot, "approved_sha256", approval.approvedSHA256)
            add("lot", s.lot, "current_sha256", approval.currentSHA256)
        }
        add("lot", s.lot, "integrity", s.integrityOK ? "ok" : "failed")
        add("lot", s.lot, "integrity_statement", s.integrity)
        for note in s.incomplete ?? [] { add("lot", s.lot, "incomplete", note) }
        for (index, p) in s.placements.enumerated() {
            let subject = "\(index + 1)"
            add("placement", subject, "device", p.device)
            add("placement", subject, "spec", p.spec)
            add("placement", subject, "from", p.from)
            add("placement", subject, "to", p.to ?? "inside")
            add("placement", subject, "by", p.by)
        }
        for c in s.channels {
            let subject = "\(c.device) \(c.channel)"
            add("channel", subject, "unit", c.unit)
            add("channel", subject, "time_in_spec_percent", c.timeInSpec.map { String(format: "%.2f", $0) })
            add("channel", subject, "completeness_percent", c.completeness.map { String(format: "%.2f", $0) })
            add("channel", subject, "received", String(c.received))
            add("channel", subject, "expected", String(c.expected))
            add("channel", subject, "gaps", String(c.gaps))
            add("channel", subject, "excursions", String(c.excursions))
        }
        for d in s.deviations {
            add("deviation", d.id, "state", d.state)
            add("deviation", d.id, "what", d.what)
            add("deviation", d.id, "acknowledged", d.acknowledged)
            add("deviation", d.id, "closed", d.closed)
        }
        for sig in signatures {
            let subject = "\(sig.id)"
            add("signature", subject, "signed_by", sig.printedName)
            add("signature", subject, "signed_at", sig.signedAt)
            add("signature", subject, "meaning", sig.meaning)
            add("signature", subject, "on", "\(sig.subjectKind.rawValue) \(sig.subject)")
            add("signature", subject, "content_sha256", sig.contentSHA256)
            add("signature", subject, "audit_seq", String(sig.auditSeq))
        }
        return rows.map { $0.map(LotReportCSV.cell).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
