import Foundation
import Testing
@testable import LabGate
@testable import LabGateDaemon

@Suite("status page")
struct StatusPageTests {
    let now = Date(timeIntervalSince1970: 1_800_000_100)

    private func snapshot(
        _ status: DeviceStatus?, lots: [LotSpec] = [], deviations: [DeviationRecord] = [], config: Config = statusConfig()
    ) -> StatusSnapshot {
        StatusSnapshot.build(
            config: config, statuses: status.map { [$0.device: $0] } ?? [:],
            readings: status.map { [$0.device: $0.channels] } ?? [:], lots: { _ in lots }, deviations: deviations,
            backlog: StoreBacklog(held: 0, oldest: nil), started: now, now: now)
    }

    /// The class attribute of the device's tile.
    private func tileClass(_ html: String, device: String = "INC-01") -> String? {
        guard let range = html.range(of: "\" id=\"device-\(device)\"") else { return nil }
        let before = html[..<range.lowerBound]
        guard let start = before.range(of: "<article class=\"", options: .backwards) else { return nil }
        return String(before[start.upperBound...])
    }

    @Test("one colour class per tile state, and the state in words")
    func classes() {
        let inSpec = StatusPage.render(snapshot(answered("INC-01", at: now, ["temperature": 37, "co2": 5])))
        #expect(tileClass(inSpec) == "tile in_spec")
        #expect(inSpec.contains("<p class=\"condition\">IN SPEC</p>"))

        let out = StatusPage.render(snapshot(answered("INC-01", at: now, ["temperature": 37, "co2": 4.2])))
        #expect(tileClass(out) == "tile out_of_spec")
        #expect(out.contains("OUT OF SPEC: co2"))
        #expect(out.contains("<tr class=\"out\"><th>co2</th><td><span class=\"reading\"><span class=\"flag\">▼ </span><span class=\"value\">4.20</span> %</span><span class=\"band\">4.5 – 5.5 % (critical &lt; 2)</span></td></tr>"))

        let never = StatusPage.render(snapshot(nil))
        #expect(tileClass(never) == "tile fault")
        #expect(never.contains("NO DATA YET"))

        var failing = answered("INC-01", at: now, ["temperature": nil, "co2": nil], quality: .timeout)
        failing.consecutiveFailures = 3
        failing.nextTry = now.addingTimeInterval(30)
        let backoff = StatusPage.render(snapshot(failing))
        #expect(tileClass(backoff) == "tile fault")
        #expect(backoff.contains("NO ANSWER (3 polls), next try in 30 s"))
        #expect(backoff.contains("<span class=\"value\">—</span></span><span class=\"why\">no answer"), "the quality in an operator's words")

        let stale = StatusPage.render(snapshot(answered("INC-01", at: now.addingTimeInterval(-300), ["temperature": 37, "co2": 5])))
        #expect(tileClass(stale) == "tile stale")
        #expect(stale.contains("STALE: no poll for 5 min"))
    }

    @Test("self-contained, refreshes itself, works without JavaScript, says when its data is old")
    func refresh() {
        let html = StatusPage.render(snapshot(answered("INC-01", at: now, ["temperature": 37, "co2": 5])))
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>"))
        #expect(html.contains("<body data-refresh=\"3\">"))
        #expect(html.contains("fetch('fragment'"))
        #expect(html.contains("id=\"offline\" class=\"offline\" hidden"))
        #expect(html.contains("updated <time datetime=\"2027-01-15T08:01:40.000Z\">08:01:40 UTC</time>"))
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import") && !html.contains("url("), "no external assets")
        let fragment = StatusPage.fragment(snapshot(answered("INC-01", at: now, ["temperature": 37, "co2": 5])))
        #expect(html.contains("<main id=\"main\">\n" + fragment + "</main>"))
    }

    @Test("deviations listed prominently with lots, limit and since when")
    func deviationList() {
        var acked = deviation("DEV-2026-0001", device: "INC-01")
        acked.end = acked.start + 1000
        acked.ackedAt = acked.end
        acked.ackedBy = "alice"
        let open = deviation("DEV-2026-0002", device: "INC-01", lots: ["MSC-AT-0042", "MSC-AT-0043"])
        let html = StatusPage.render(snapshot(answered("INC-01", at: now, ["co2": 4.3]), deviations: [acked, open]))
        #expect(html.contains("<h2>Deviations not closed</h2>"))
        #expect(html.contains(
            "<li class=\"deviation open\"><span class=\"id\">DEV-2026-0002</span> <b>OPEN</b> · <b>INC-01 co2</b> · below low 4.5 % (spec msc-culture)"
                + " · since 08:00:06 UTC (94 s) · worst 4.30 % · lots MSC-AT-0042, MSC-AT-0043</li>"))
        #expect(html.contains("<li class=\"deviation acknowledged\"><span class=\"id\">DEV-2026-0001</span> <b>ACKNOWLEDGED</b>"))
        #expect(html.contains("acknowledged by alice"))
        #expect(html.contains("1 open deviation · 1 awaiting closure"))
        #expect(html.range(of: "DEV-2026-0002")!.lowerBound < html.range(of: "DEV-2026-0001")!.lowerBound, "open first")
    }

    @Test("every string from the config, lots and deviations is escaped")
    func escaping() {
        var config = statusConfig()
        config.site = "<script>alert(1)</script>"
        config.devices[0].id = "INC-<b>"
        config.profiles["inc"]!.fields[1].unit = "<i>%"
        let evil = LotSpec(lot: "LOT\"><img src=x onerror=alert(1)>", spec: "tight&co")
        var record = deviation("DEV-2026-0001", device: "INC-<b>", lots: [evil.lot])
        record.ackedBy = "<u>mallory</u>"
        record.ackedAt = record.start
        var status = answered("INC-<b>", at: now, ["co2": nil], quality: .exception)
        status.consecutiveFailures = 1
        status.lastError = "<script>x</script>"
        let html = StatusPage.render(snapshot(status, lots: [evil], deviations: [record], config: config))
        for raw in ["<script>alert", "INC-<b>", "<i>%", "<img", "tight&co", "<u>mallory", "<script>x"] {
            #expect(!html.contains(raw), "\(raw) is not escaped")
        }
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("id=\"device-INC-&lt;b&gt;\""))
        #expect(html.contains("LOT&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("tight&amp;co"))
        #expect(html.contains("&lt;u&gt;mallory&lt;/u&gt;"))
        #expect(html.contains("&lt;script&gt;x&lt;/script&gt;"))
    }

    @Test("spec bands: two-sided, one-sided, critical, none")
    func bands() {
        #expect(StatusPage.band(.init(low: 36, high: 38, criticalLow: nil, criticalHigh: 39, sources: []), unit: " °C") == "36 – 38 °C (critical > 39)")
        #expect(StatusPage.band(.init(low: nil, high: -150, criticalLow: nil, criticalHigh: nil, sources: []), unit: " °C") == "≤ -150 °C")
        #expect(StatusPage.band(.init(low: 4.5, high: nil, criticalLow: 2, criticalHigh: nil, sources: []), unit: " %") == "≥ 4.5 % (critical < 2)")
        #expect(StatusPage.band(nil, unit: "") == "no limits")
    }
}
