import Foundation
import LabGate

/// The report as one self-contained HTML file: inline CSS and SVG, no external assets, laid out
/// to print to PDF.
extension LotReport {
    public func html() -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Lot report \(esc(lot))</title>
            <style>
            body{font:13px/1.4 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#111}
            h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #999;margin-top:28px}h3{font-size:14px}
            table{border-collapse:collapse;margin:6px 0;max-width:100%}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
            .fields{font-size:11px;margin:0;padding:0;list-style:none}.dev th{width:11em;font-weight:normal}.dev{width:100%}
            th{background:#eee;overflow-wrap:normal}.ok{color:#060;font-weight:bold}.fail{color:#b00;font-weight:bold}
            svg{width:100%;height:auto;border:1px solid #ccc}section{page-break-inside:avoid}.summary{page-break-after:always}ul.audit{padding-left:1em;list-style:none}small{color:#666}
            @media print{body{margin:10mm}h2{page-break-before:auto}}
            </style></head><body>
            <h1>Lot report: \(esc(lot))</h1>
            <p>Site \(esc(site ?? "—")) · store \(esc(store)) · generated \(t(generated)) (UTC)</p>

            """
        h += summaryPage()
        h += integritySection()
        h += gatewaySection()
        h += clockStepSection()
        for p in placements { h += placementSection(p) }
        h += deviationSection()
        h += signatureSection()
        h += auditSentences()
        return h + "</body></html>\n"
    }

    private func integritySection() -> String {
        var h = "<h2>Integrity</h2><p>"
        h += integrity.ok
            ? "<span class=\"ok\">Integrity OK</span>: every audit entry, reading seal, lot event and deviation in the store, and every reading of the lot, matches what was first recorded."
            : "<span class=\"fail\">Integrity check FAILED</span>: records changed since they were first recorded."
        h += "</p><table><tr><th>audit head (entry \(integrity.auditHeadSeq))</th><td><code>\(integrity.auditHead)</code></td></tr>"
        h += "<tr><th>reading seal head</th><td><code>\(integrity.readingSealHead)</code></td></tr>"
        if let anchor = integrity.anchor {
            h += "<tr><th>anchored</th><td>checked against \(esc(anchor))</td></tr>"
        }
        for note in integrity.anchorNotes ?? [] { h += "<tr><th>anchors</th><td>\(esc(note))</td></tr>" }
        h += "<tr><th>checked</th><td>\(integrity.auditEntries) audit entries, \(integrity.sealsInChain) reading seals by their hashes, \(integrity.readingsChecked) readings of the lot's series in \(integrity.sealsChecked) sealed batches (the whole store: <code>labgate audit verify</code>)</td></tr></table>"
        if !integrity.problems.isEmpty {
            h += "<ul>" + integrity.problems.map { "<li class=\"fail\">\(esc($0))</li>" }.joined() + "</ul>"
        }
        return h + "\n"
    }

    /// A site report: each gateway that held the lot, how far it forwarded, its chains at the site.
    private func gatewaySection() -> String {
        guard let gateways else { return "" }
        var h = "<h2>Gateways</h2><table><tr><th>gateway</th><th>readings forwarded up to</th><th>last forward</th><th>audit entries</th><th>seals</th><th>record</th></tr>"
        for g in gateways {
            h += "<tr><td>\(esc(g.id))</td><td>\(g.forwardedUntil.map(t) ?? "—")</td><td>\(g.lastForward.map(t) ?? "—")</td><td>\(g.auditEntries)</td><td>\(g.seals)</td>"
            h += "<td>\(g.incomplete.map { "<span class=\"fail\">\(esc($0))</span>" } ?? "<span class=\"ok\">complete</span>")</td></tr>"
        }
        return h + "</table>\n"
    }

    private func placementSection(_ p: PlacementReport) -> String {
        var h = "<h2>\(esc(p.device))\(p.gateway.map { " on gateway " + esc($0) } ?? "") — \(t(p.start)) to \(t(p.end ?? p.until)) (spec \(esc(p.spec)))</h2>"
        if let other = p.endedByGateway {
            h += "<p>Ended at site level when gateway \(esc(other)) placed the lot (\(esc(p.endedBy ?? "?"))): readings tagged later on this gateway are not counted.</p>"
        }
        h += "<table><tr><th>channel</th><th>readings</th><th>min</th><th>max</th><th>mean</th><th>time in spec</th><th>MKT</th><th>expected</th><th>received</th><th>complete</th><th>gaps</th><th>excursions</th></tr>"
        for c in p.channels {
            let s = c.statistics
            let u = esc(c.unit)
            let derived = c.resolution?.derived
            h += "<tr><td>\(esc(c.channel))</td><td>\(s.count)</td><td>\(v(s.min, c.resolution)) \(u)</td><td>\(v(s.max, c.resolution)) \(u)</td><td>\(v(s.mean, derived)) \(u)</td>"
            h += "<td>\(s.timeInSpec.map { String(format: "%.2f %%", $0) } ?? "—")</td><td>\(s.meanKineticTemperature.map { v($0, derived) + " °C" } ?? "—")</td>"
            h += "<td>\(c.completeness.expected)\(c.everyInferred ? " (inferred)" : "")</td><td>\(c.completeness.received)</td>"
            h += "<td>\(c.completeness.percent.map { String(format: "%.2f %%", $0) } ?? "—")</td><td>\(c.completeness.gaps.count)</td><td>\(c.excursions.count)</td></tr>"
        }
        h += "</table>\n"
        for c in p.channels {
            h += "<section><h3>\(esc(c.channel))\(c.unit.isEmpty ? "" : " (" + esc(c.unit) + ")")\(c.band.map { " — spec " + bandText($0) } ?? "")</h3>"
            h += definitionText(c)
            h += chart(c, from: p.start, to: p.end ?? p.until)
            if !c.excursions.isEmpty {
                h += "<table><tr><th>excursion from</th><th>to</th><th>length</th><th>worst</th></tr>"
                for e in c.excursions {
                    h += "<tr><td>\(t(e.start))</td><td>\(t(e.end))</td><td>\(len(e.end.timeIntervalSince(e.start)))</td><td>\(v(e.worst, c.resolution)) \(esc(c.unit))</td></tr>"
                }
                h += "</table>"
            }
            if !c.completeness.gaps.isEmpty {
                h += "<table><tr><th>gap from</th><th>to</th><th>length</th><th>reason</th></tr>"
                for g in c.completeness.gaps {
                    h += "<tr><td>\(t(g.start))</td><td>\(t(g.end))</td><td>\(len(g.seconds))</td><td>\(esc(g.reason))</td></tr>"
                }
                h += "</table>"
            }
            h += "</section>\n"
        }
        return h
    }

    /// What the channel's numbers mean, as recorded while the lot was inside: the field they were
    /// decoded with and the spec band, and each change of either during the placement.
    private func definitionText(_ c: ChannelReport) -> String {
        func source(_ s: DefinitionSource) -> String {
            switch s {
            case .recorded: "as recorded in the store"
            case .config: "<span class=\"fail\">not recorded in the store: from today's config</span>"
            case .none: "<span class=\"fail\">not recorded in the store</span>"
            }
        }
        var h = "<p class=\"def\">"
        if let f = c.field {
            h += "Field: \(esc(f.profile)) \(esc(f.summary)), resolution \(esc(c.resolution?.description ?? "—")), every \(len(f.every)) (\(source(c.fieldSource)))"
        } else {
            h += "Field: unknown (\(source(c.fieldSource)))"
        }
        h += "<br>Spec band: \(c.band.map(bandText) ?? "none") (\(source(c.bandSource)))</p>"
        guard !c.fieldChanges.isEmpty || !c.bandChanges.isEmpty else { return h }
        var rows: [(Date, String)] = c.fieldChanges.map { ($0.time, "field: " + esc($0.field.profile + " " + $0.field.summary) + ", resolution " + esc($0.field.resolution.description)) }
        rows += c.bandChanges.map { ($0.time, "spec band: " + ($0.band.map(bandText) ?? "none")) }
        h += "<table><tr><th class=\"fail\">changed during this placement</th><th>from then on</th></tr>"
        for (time, text) in rows.sorted(by: { $0.0 < $1.0 }) { h += "<tr><td>\(t(time))</td><td>\(text)</td></tr>" }
        return h + "</table>"
    }

    /// Min/max bars per column; spec band in green, excursions shaded red, gaps hatched grey.
    private func chart(_ c: ChannelReport, from: Date, to: Date) -> String {
        let width = 1200.0, height = 240.0, top = 10.0, plot = 200.0
        let values = c.chart.flatMap { [$0.min, $0.max].compactMap { $0 } }
        let limits = [c.band?.low, c.band?.high].compactMap { $0 }
        guard let lo0 = (values + limits).min(), let hi0 = (values + limits).max() else { return "<p>no readings</p>" }
        let pad = Swift.max((hi0 - lo0) * 0.05, 0.1)
        let lo = lo0 - pad, hi = hi0 + pad
        func y(_ v: Double) -> String { String(format: "%.1f", top + (hi - v) / (hi - lo) * plot) }
        let span = Swift.max(to.timeIntervalSince(from), 0.001)
        func x(_ d: Date) -> String { String(format: "%.1f", d.timeIntervalSince(from) / span * width) }
        let step = width / Double(Swift.max(c.chart.count, 1))
        var s = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        s += "<defs><pattern id=\"h\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><path d=\"M0 6L6 0\" stroke=\"#999\"/></pattern></defs>"
        if let band = c.band {
            let bandTop = y(band.high ?? hi), bandBottom = y(band.low ?? lo)
            s += "<rect x=\"0\" y=\"\(bandTop)\" width=\"\(Int(width))\" height=\"\(String(format: "%.1f", (Double(bandBottom) ?? 0) - (Double(bandTop) ?? 0)))\" fill=\"#e3f5e3\"/>"
        }
        for e in c.excursions {
            let x0 = Double(x(e.start)) ?? 0, x1 = Double(x(e.end)) ?? 0
            s += "<rect x=\"\(String(format: "%.1f", x0))\" y=\"\(top)\" width=\"\(String(format: "%.1f", Swift.max(x1 - x0, 1.5)))\" height=\"\(plot)\" fill=\"#f6b3b3\" opacity=\"0.7\"><title>excursion \(t(e.start)) – \(t(e.end))</title></rect>"
        }
        for g in c.completeness.gaps {
            let x0 = Double(x(g.start)) ?? 0, x1 = Double(x(g.end)) ?? 0
            s += "<rect x=\"\(String(format: "%.1f", x0))\" y=\"\(top)\" width=\"\(String(format: "%.1f", Swift.max(x1 - x0, 1.5)))\" height=\"\(plot)\" fill=\"url(#h)\"><title>gap \(len(g.seconds)): \(esc(g.reason))</title></rect>"
        }
        var normal = "", out = "", trace = ""
        var previous: (index: Int, mid: Double)?
        let columnSpan = span / Double(Swift.max(c.chart.count, 1))
        for (i, col) in c.chart.enumerated() {
            guard let mn = col.min, let mx = col.max else { continue }
            let cx = String(format: "%.1f", (Double(i) + 0.5) * step)
            let y0 = y(mx), y1 = mn == mx ? String(format: "%.1f", (Double(y(mn)) ?? 0) + 1) : y(mn)
            let piece = "M\(cx) \(y0)V\(y1)"
            if col.outOfSpec { out += piece } else { normal += piece }
            // Readings sparser than the columns are joined by a line, broken where data is missing.
            let mid = (mn + mx) / 2
            if let previous, i > previous.index + 1 {
                let after = from.addingTimeInterval(Double(previous.index + 1) * columnSpan)
                let before = from.addingTimeInterval(Double(i) * columnSpan)
                if !c.completeness.gaps.contains(where: { $0.start < before && $0.end > after }) {
                    trace += "M\(String(format: "%.1f", (Double(previous.index) + 0.5) * step)) \(y(previous.mid))L\(cx) \(y(mid))"
                }
            }
            previous = (i, mid)
        }
        if !trace.isEmpty { s += "<path d=\"\(trace)\" stroke=\"#1f4e9c\" stroke-width=\"1\" fill=\"none\"/>" }
        s += "<path d=\"\(normal)\" stroke=\"#1f4e9c\" stroke-width=\"\(String(format: "%.2f", Swift.max(step, 1)))\" fill=\"none\"/>"
        s += "<path d=\"\(out)\" stroke=\"#c00\" stroke-width=\"\(String(format: "%.2f", Swift.max(step, 1.5)))\" fill=\"none\"/>"
        for limit in limits {
            s += "<line x1=\"0\" x2=\"\(Int(width))\" y1=\"\(y(limit))\" y2=\"\(y(limit))\" stroke=\"#080\" stroke-dasharray=\"4 3\"/>"
            s += "<text x=\"4\" y=\"\(String(format: "%.1f", (Double(y(limit)) ?? 0) - 2))\" font-size=\"11\" fill=\"#080\">\(n(limit))</text>"
        }
        s += "<text x=\"0\" y=\"\(Int(height - 8))\" font-size=\"11\">\(t(from))</text>"
        s += "<text x=\"\(Int(width))\" y=\"\(Int(height - 8))\" font-size=\"11\" text-anchor=\"end\">\(t(to))</text>"
        s += "<text x=\"\(Int(width / 2))\" y=\"\(Int(height - 8))\" font-size=\"11\" text-anchor=\"middle\">\(n(lo0))–\(n(hi0)) \(esc(c.unit))</text>"
        return s + "</svg>"
    }

    /// One table per deviation, its lifecycle top to bottom (a row per column would not fit a page).
    private func deviationSection() -> String {
        var h = "<h2>Deviations (\(deviations.count))</h2>"
        guard !deviations.isEmpty else { return h + "<p>No deviation names this lot.</p>\n" }
        for d in deviations {
            let unit = esc(d.unit ?? "")
            var rows: [(String, String)] = [
                ("kind", esc(d.kind.rawValue) + (d.critical ? " (critical)" : "")),
                ("device / channel", "\(esc(d.device)) \(esc(d.channel))"),
                ("limit", esc(limitText(d.limit))),
                ("lots", esc(d.lots.joined(separator: ", "))),
                ("began", t(Date(millisecondsSince1970: d.start))),
                ("opened", t(Date(millisecondsSince1970: d.opened)) + " at \(n(d.valueAtOpening)) \(unit)"),
                ("ended", d.end.map { t(Date(millisecondsSince1970: $0)) } ?? "— (still out of spec)"),
                ("duration", d.duration.map { len(Double($0) / 1000) } ?? "—"),
                ("worst", "\(n(d.worst)) \(unit)"),
                ("size", d.size.map { String(format: "%.2f", $0) + " " + unit + "·min beyond the limit" } ?? "—"),
                ("acknowledged", d.ackedAt.map { t(Date(millisecondsSince1970: $0)) + " by " + esc(d.ackedBy ?? "") + ": " + esc(d.ackComment ?? "") } ?? "—"),
                ("closed", d.closedAt.map { t(Date(millisecondsSince1970: $0)) + " by " + esc(d.closedBy ?? "") + ": " + esc(d.impact ?? "") } ?? "—"),
            ]
            rows.append(("notified", notified(notifications[d.id] ?? [])))
            rows.append(("state", esc(d.state.rawValue)))
            h += "<section><h3>\(esc(d.id))</h3><table class=\"dev\">"
            h += rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</table></section>"
        }
        return h + "\n"
    }

    /// Each attempt that named the deviation: when, through which channel to whom, why, and how it went.
    private func notified(_ attempts: [NotificationAttempt]) -> String {
        guard !attempts.isEmpty else { return "— (no notify rule routed it)" }
        return attempts.map { a in
            var line = "\(t(a.time)) \(esc(a.channel)) (\(esc(a.kind)) \(esc(a.recipients))): \(esc(a.reason))"
            if a.attempt > 1 { line += ", attempt \(a.attempt)" }
            line += ", \(esc(a.result.rawValue))"
            if a.result != .delivered, let detail = a.detail { line += " (\(esc(detail)))" }
            return line
        }.joined(separator: "<br>")
    }

    private func limitText(_ limit: AlertEvent.Limit) -> String {
        "\(limit.name.replacingOccurrences(of: "_", with: " ")) \(n(limit.value)) (\(limit.source))"
    }

    private func bandText(_ b: SpecBand) -> String {
        var parts: [String] = []
        if let low = b.low { parts.append("≥ \(n(low))") }
        if let high = b.high { parts.append("≤ \(n(high))") }
        if let c = b.criticalLow { parts.append("critical ≥ \(n(c))") }
        if let c = b.criticalHigh { parts.append("critical ≤ \(n(c))") }
        return esc(parts.joined(separator: ", "))
    }

    private func t(_ date: Date) -> String { esc(UTCTime.format(date)) }
    private func n(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "—" }
    /// A measured value at the resolution it was measured at (two decimals when unknown).
    private func v(_ value: Double?, _ resolution: ValueResolution?) -> String {
        guard let value else { return "—" }
        return resolution?.text(value) ?? n(value)
    }

    private func len(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 86400 { return "\(s / 86400) d \(s % 86400 / 3600) h \(s % 3600 / 60) min" }
        if s >= 3600 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        if s >= 60 { return "\(s / 60) min \(s % 60) s" }
        return seconds < 10 ? String(format: "%.1f s", seconds) : "\(s) s"
    }
}
