import Foundation
import LabGate
import SiteStore

/// The site page (`/site`): every gateway of the site with its last forward and lag (SILENT past
/// `silent_after`), and every device as its gateway last forwarded it, from the site store. One
/// self-contained document that reloads itself every 10 s; every string is escaped.
enum SiteStatusPage {
    static func render(_ status: SiteStatus, site: String, silentAfter: Duration, this gateway: String?) -> String {
        let limit = Double(silentAfter.components.seconds)
        func age(_ seconds: Double) -> String { DurationText.format(.seconds(Int64(max(0, seconds).rounded()))) }
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="10"><title>labgate site \(esc(site))</title>
            <style>\(StatusPageAssets.css)
            table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #888;padding:0.2em 0.6em;text-align:left}
            .silent{color:#fff;background:#b00;font-weight:bold;padding:0 0.3em}.forwarding{color:#060;font-weight:bold}</style>
            </head><body><main>
            <h1>Site \(esc(site)): \(status.gateways.count) gateways</h1>
            <p>From the site store at \(esc(UTCTime.format(status.time))) (UTC); a gateway silent for \(esc(DurationText.format(silentAfter))) is raised as gateway_silent on the others.</p>

            """
        for g in status.gateways {
            let silent = g.silentFor >= limit
            html += "<section class=\"gateway\" id=\"gateway-\(esc(g.id))\"><h2>Gateway \(esc(g.id))\(g.id == gateway ? " (this gateway)" : "") "
            html += silent ? "<span class=\"silent\">SILENT</span>" : "<span class=\"forwarding\">FORWARDING</span>"
            html += "</h2><p>last forward \(esc(UTCTime.format(g.lastForward))) (\(age(g.silentFor)) ago) · newest reading at the site "
            html += g.newestReading.map { "\(esc(UTCTime.format($0))) (lag \(age(g.lagSeconds ?? 0)))" } ?? "none"
            html += " · readings confirmed up to \(g.readingsConfirmed)</p>\n"
            html += "<table><tr><th>device</th><th>state</th><th>last answer</th><th>polls answered</th><th>failed</th><th>last error</th><th>status of</th></tr>\n"
            for d in g.devices {
                html += "<tr><td>\(esc(d.id))</td><td>\(esc(d.state))</td><td>\(d.lastAnswer.map { esc(UTCTime.format($0)) } ?? "never")</td>"
                html += "<td>\(d.pollsAnswered)</td><td>\(d.pollsFailed)</td><td>\(esc(d.lastError ?? ""))</td><td>\(esc(UTCTime.format(d.updated)))</td></tr>\n"
            }
            html += "</table></section>\n"
        }
        return html + "</main></body></html>\n"
    }
}
