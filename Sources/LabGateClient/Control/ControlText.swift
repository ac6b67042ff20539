import Foundation
import LabGate

/// The control socket's replies as the CLI prints them for people. Every line is escaped
/// (`TerminalText`): notes, comments, impact statements and ids are users' text, and none of it
/// may start a line of its own or send escape sequences to the terminal.
public enum ControlText {
    /// The lines, each escaped, one per line.
    static func lines(_ lines: [String]) -> String {
        lines.map(TerminalText.escape).joined(separator: "\n") + "\n"
    }

    /// An error or any other text from the daemon, escaped for a terminal.
    public static func message(_ text: String) -> String {
        TerminalText.escape(text)
    }

    public static func lot(_ lot: ControlAPI.LotView) -> String {
        var lines = ["\(lot.lot)  \(lot.state == "inside" ? "in \(lot.device ?? "?") with spec \(lot.spec ?? "?") since \(lot.since ?? "?")" : lot.state == "left" ? "not on this gateway: \(lot.events.last { $0.action == "left" }?.note ?? "another gateway took it")" : "ended")"]
        lines.append("placements:")
        for placement in lot.placements {
            let end = placement.end.map { "\($0) (by \(placement.endedBy ?? "?"))" } ?? "now"
            let corrected = placement.correctedBy.map { ", corrected by \($0)" } ?? ""
            lines.append("  \(placement.device)  spec \(placement.spec)  \(placement.start) (by \(placement.startedBy)\(corrected)) – \(end)")
        }
        lines.append("actions:")
        for event in lot.events {
            var line = "  #\(event.id) \(event.time) \(event.user) \(event.action)"
            if let target = event.corrects { line += " #\(target)" }
            if let effective = event.effective { line += " took effect \(effective)" }
            if let device = event.device { line += " \(device)" }
            if let spec = event.spec { line += " spec \(spec)" }
            if let note = event.note { line += " — \(note)" }
            lines.append(line)
        }
        if let approval = lot.approval { lines.append("approval: \(approval.statement)") }
        if let signatures = lot.signatures, !signatures.isEmpty {
            lines.append("signatures:")
            for signature in signatures { lines.append("  " + Self.signature(signature) + "  on \(signature.on)") }
        }
        return Self.lines(lines)
    }

    public static func lots(_ lots: [ControlAPI.LotView]) -> String {
        guard !lots.isEmpty else { return "no lots\n" }
        return Self.lines(lots.map { lot in
            let place = lot.state == "inside" ? "\(lot.device ?? "?")  spec \(lot.spec ?? "?")  since \(lot.since ?? "?")" : lot.state == "left" ? "on another gateway" : "ended"
            return "\(lot.lot.padding(toLength: max(14, lot.lot.count), withPad: " ", startingAt: 0))  \(place)"
        })
    }

    public static func deviation(_ d: ControlAPI.DeviationView) -> String {
        let unit = d.unit.map { $0.isEmpty ? "" : " \($0)" } ?? ""
        func number(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) + unit } ?? "—" }
        let limit = d.limit.name == "max_gap"
            ? "max_gap \(DurationText.format(.milliseconds(Int64(d.limit.value * 1000))))"
            : "\(d.limit.name) \(number(d.limit.value))"
        var lines = [
            "\(d.id)  \(d.state)\(d.critical ? "  CRITICAL" : "")",
            "  kind:     \(d.kind)",
            "  device:   \(d.device) \(d.channel)",
            "  limit:    \(limit) (\(d.limit.source))",
            "  start:    \(d.start) (first out-of-spec reading)",
            "  opened:   \(d.opened)",
            "  end:      \(d.end ?? "— (still open)")",
            "  duration: \(d.duration ?? "—")",
        ]
        if d.kind == "excursion" {
            lines.append("  value at opening: \(number(d.valueAtOpening))")
            if d.end == nil {
                lines.append("  worst:    \(number(d.worstSoFar ?? d.worst)) (so far)")
                lines.append("  size:     \(d.sizeSoFar.map { String(format: "%.2f", $0) + " " + d.sizeUnit + " (so far)" } ?? "—")")
            } else {
                lines.append("  worst:    \(number(d.worst))")
                lines.append("  size:     \(d.size.map { String(format: "%.2f", $0) + " " + d.sizeUnit } ?? "—")")
            }
        }
        lines.append("  lots:     \(d.lots.joined(separator: ", "))")
        if let by = d.acknowledgedBy {
            lines.append("  acknowledged: \(d.acknowledgedAt ?? "?") by \(by) — \(d.comment ?? "")")
        }
        if let by = d.closedBy {
            lines.append("  closed:   \(d.closedAt ?? "?") by \(by) — impact: \(d.impact ?? "")")
        }
        for signature in d.signatures ?? [] { lines.append("  signed:   " + Self.signature(signature)) }
        if let notifications = d.notifications {
            lines.append("  notified:\(notifications.isEmpty ? " nobody (no notify rule routes it)" : "")")
            for n in notifications { lines.append("    " + notification(n)) }
        }
        return Self.lines(lines)
    }

    /// A signature's manifestation: `Alice Smith (alice)  2026-11-30T10:02:03.120Z  acknowledged`.
    public static func signature(_ s: ControlAPI.SignatureView) -> String {
        "\(s.signedBy)  \(s.signedAt)  \(s.meaning)"
    }

    /// `2026-11-29T22:01:06.120Z  hook  webhook http://...  raised  delivered`.
    public static func notification(_ n: ControlAPI.NotificationView) -> String {
        var line = "\(n.time)  \(n.notifyChannel)  \(n.kind) \(n.recipients)  \(n.reason)"
        if n.attempt > 1 { line += " (attempt \(n.attempt))" }
        line += "  \(n.result)"
        if let detail = n.detail { line += " — \(detail)" }
        if n.reason == "test" { line += "  by \(n.user)" }
        return line
    }

    public static func alarms(_ list: [ControlAPI.AlarmView]) -> String {
        guard !list.isEmpty else { return "no alarms\n" }
        return Self.lines(list.map { a in
            var line = "\(a.id)  \(a.state.padding(toLength: 12, withPad: " ", startingAt: 0))  \(a.severity.uppercased())  \(a.event)  \(a.summary)  raised \(a.raised)"
            if let recovered = a.recovered { line += "  recovered \(recovered)" }
            if let next = a.nextMessage { line += "  next message \(next)" }
            if let by = a.acknowledgedBy { line += "  acknowledged \(a.acknowledgedAt ?? "?") by \(by) — \(a.comment ?? "")" }
            for signature in a.signatures ?? [] { line += "  signed: " + Self.signature(signature) }
            if let deviation = a.deviation, a.acknowledgedBy == nil { line += "  (acknowledge: labgate deviations ack \(deviation))" }
            return line
        })
    }

    public static func alarm(_ a: ControlAPI.AlarmView) -> String { alarms([a]) }

    public static func notificationReply(_ n: ControlAPI.NotificationView) -> String { lines([notification(n)]) }

    public static func deviations(_ list: [ControlAPI.DeviationView]) -> String {
        guard !list.isEmpty else { return "no deviations\n" }
        return Self.lines(list.map { d in
            let worst = (d.worstSoFar ?? d.worst).map { String(format: "worst %.2f", $0) } ?? d.kind
            return "\(d.id)  \(d.state.padding(toLength: 12, withPad: " ", startingAt: 0))  \(d.device) \(d.channel)  \(d.start) – \(d.end ?? "open")  \(worst)  lots \(d.lots.joined(separator: ","))"
        })
    }

    public static func audit(_ entries: [ControlAPI.AuditView]) -> String {
        guard let last = entries.last else { return "no audit entries\n" }
        var lines: [String] = []
        for entry in entries {
            var line = "\(entry.seq)  \(entry.time)  \(entry.user)  \(entry.action)  \(entry.object)"
            if let reason = entry.reason { line += "  — \(reason)" }
            lines.append(line)
            if let old = entry.old { lines.append("      old: \(old)") }
            if let new = entry.new { lines.append("      new: \(new)") }
        }
        lines.append("head: entry \(last.seq), hash \(last.hash)")
        return Self.lines(lines)
    }

    public static func verify(_ report: AuditVerifier.Report) -> String {
        let counted = "\(report.auditEntries) audit entries, \(report.seals) reading seals, \(report.readings) readings, \(report.lotEvents) lot events, \(report.deviations) deviations, \(report.alarms) alarms, \(report.notifications) notification attempts, \(report.signatures) signatures"
        var lines: [String]
        if report.ok {
            lines = ["OK: the record is intact (\(counted))"]
        } else {
            lines = ["BROKEN: \(report.problems.first ?? "")"]
            for problem in report.problems.dropFirst() { lines.append("  also: \(problem)") }
            lines.append("checked \(counted)")
        }
        if let anchors = report.anchors {
            if let against = anchors.checkedAgainst {
                lines.append("anchored: checked against \(anchors.anchors) anchor(s), the latest: \(against)")
            }
            for note in anchors.notes { lines.append("WARNING: \(note)") }
        }
        return Self.lines(lines)
    }
}
