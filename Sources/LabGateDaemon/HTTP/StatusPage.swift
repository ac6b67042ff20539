import Foundation
import LabGate

/// The wall-screen page: one self-contained HTML document (inline CSS and script, nothing
/// fetched from elsewhere), readable across a room. The server renders everything, so the first
/// paint is complete without JavaScript; the script then fetches `fragment` (the same rendering of
/// `<main>`) every few seconds and, when that fails, greys the page and says since when the data
/// is old instead of showing old values as if they were current. Without JavaScript a meta refresh
/// reloads the page. Every string from the config, the lot registry or a deviation is escaped.
public enum StatusPage {
    public static func render(_ snapshot: StatusSnapshot) -> String {
        let refresh = max(1, Int(snapshot.refreshSeconds.rounded()))
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>labgate \(esc(snapshot.site))</title>
            <noscript><meta http-equiv="refresh" content="\(refresh)"></noscript>
            <style>\(StatusPageAssets.css)</style>
            </head>
            <body data-refresh="\(refresh)">
            <div id="offline" class="offline" hidden>NO DATA FROM LABGATE FOR <span id="offline-age">?</span>: everything below is old</div>
            <main id="main">
            \(fragment(snapshot))</main>
            <script>\(StatusPageAssets.script)</script>
            </body>
            </html>

            """
    }

    /// The content of `<main>`: header, deviations, one tile per device.
    public static func fragment(_ snapshot: StatusSnapshot) -> String {
        var html = header(snapshot)
        html += deviations(snapshot)
        html += "<section class=\"tiles\">\n"
        for device in snapshot.devices { html += tile(device, snapshot: snapshot) }
        html += "</section>\n"
        return html
    }

    // MARK: Parts

    private static func header(_ snapshot: StatusSnapshot) -> String {
        let counts = Dictionary(grouping: snapshot.devices, by: \.condition).mapValues(\.count)
        var summary: [String] = []
        for condition in [StatusSnapshot.Condition.outOfSpec, .fault, .stale, .inSpec] {
            if let count = counts[condition] { summary.append("\(count) \(label(condition).lowercased())") }
        }
        let open = snapshot.deviations.filter { $0.state == .open }.count
        let waiting = snapshot.deviations.count - open
        summary.append(open == 1 ? "1 open deviation" : "\(open) open deviations")
        if waiting > 0 { summary.append("\(waiting) awaiting closure") }
        var store = ""
        if snapshot.store.writeLagSeconds > 30 {
            store = "<p class=\"store-lag\">STORE NOT WRITING: \(snapshot.store.held) readings held in memory, "
                + "oldest \(ElapsedText.duration(snapshot.store.writeLagSeconds)) old</p>\n"
        }
        if let forward = snapshot.forward {
            store += forwardLine(forward)
        }
        return """
            <header>
            <h1>\(esc(snapshot.site))</h1>
            <p class="updated">updated <time datetime="\(UTCTime.format(snapshot.time))">\(clock(snapshot.time, now: snapshot.time))</time> <span id="age"></span></p>
            <p class="summary">\(esc(summary.joined(separator: " · ")))</p>
            </header>
            \(store)
            """
    }

    /// The site store's forward lag, under the header: quiet while it keeps up, loud when the
    /// site store has lacked some reading for a minute or the gateway is not connected.
    private static func forwardLine(_ forward: StatusSnapshot.ForwardView) -> String {
        let behind = !forward.connected || forward.lagSeconds > 60
        var text = "site store as gateway \(esc(forward.gateway)): "
            + (forward.connected ? "" : "not connected, ")
            + "forward lag \(forward.lagReadings) readings, \(ElapsedText.duration(forward.lagSeconds))"
        if behind, let error = forward.lastError { text += " (\(esc(error)))" }
        return "<p class=\"\(behind ? "store-lag" : "forward")\">\(text)</p>\n"
    }

    private static func deviations(_ snapshot: StatusSnapshot) -> String {
        guard !snapshot.deviations.isEmpty else { return "" }
        var html = "<section class=\"deviations\">\n<h2>Deviations not closed</h2>\n<ul>\n"
        for deviation in snapshot.deviations {
            html += "<li class=\"deviation \(deviation.state.rawValue)\">\(deviationText(deviation, now: snapshot.time))</li>\n"
        }
        return html + "</ul>\n</section>\n"
    }

    private static func deviationText(_ deviation: StatusSnapshot.DeviationView, now: Date) -> String {
        let unit = deviation.unit.map { $0.isEmpty ? "" : " \($0)" } ?? ""
        let limit: String
        if deviation.limit.name == "max_gap" {
            let kind = deviation.kind == .sensorFault ? "sensor fault" : "no valid reading"
            limit = "\(kind) for longer than \(ElapsedText.duration(deviation.limit.value))"
        } else {
            let side = deviation.limit.name.hasSuffix("low") ? "below" : "above"
            let name = deviation.limit.name.replacingOccurrences(of: "_", with: " ")
            limit = "\(side) \(name) \(short(deviation.limit.value))\(unit)"
        }
        var parts = [
            "<b>\(esc(deviation.state.rawValue.uppercased()))</b>",
            "<b>\(esc(deviation.device)) \(esc(deviation.channel))</b>",
            "\(esc(limit)) (\(esc(deviation.limit.source)))",
            "since \(clock(deviation.start, now: now)) (\(ElapsedText.duration(now.timeIntervalSince(deviation.start))))",
        ]
        if let worst = deviation.worst { parts.append("worst \(esc(AlertFormatter.number(worst) + unit))") }
        parts.append("lots \(deviation.lots.isEmpty ? "none" : esc(deviation.lots.joined(separator: ", ")))")
        if let user = deviation.acknowledgedBy { parts.append("acknowledged by \(esc(user))") }
        return "<span class=\"id\">\(esc(deviation.id))</span> " + parts.joined(separator: " · ")
    }

    private static func tile(_ device: StatusSnapshot.DeviceView, snapshot: StatusSnapshot) -> String {
        let now = snapshot.time
        var html = "<article class=\"tile \(device.condition.rawValue)\" id=\"device-\(esc(device.id))\">\n"
        html += "<h2>\(esc(device.id)) <span class=\"kind\">\(esc(device.kind.replacingOccurrences(of: "_", with: " ")))</span></h2>\n"
        html += "<p class=\"condition\">\(esc(headline(device, now: now)))</p>\n"
        html += "<table class=\"channels\">\n"
        for channel in device.channels { html += row(channel, now: now) }
        html += "</table>\n"
        let lots = device.lots.isEmpty
            ? "no lots inside" : "lots " + device.lots.map { "<b>\(esc($0.lot))</b> (\(esc($0.spec)))" }.joined(separator: ", ")
        html += "<p class=\"lots\">\(lots)</p>\n"
        for id in device.deviations {
            guard let deviation = snapshot.deviations.first(where: { $0.id == id }) else { continue }
            html += "<p class=\"deviation \(deviation.state.rawValue)\">\(esc(deviation.id)) \(esc(deviation.channel)) "
                + "\(esc(deviation.state.rawValue))</p>\n"
        }
        var polled = "last poll " + (device.lastPoll.map { "\(clock($0, now: now)) (\(ElapsedText.age(now.timeIntervalSince($0))))" } ?? "never")
        if device.state != .ok, let error = device.lastError { polled += " · \(error)" }
        html += "<p class=\"polled\">\(esc(polled))</p>\n"
        return html + "</article>\n"
    }

    /// The tile's state in words, so that colour is never the only signal.
    private static func headline(_ device: StatusSnapshot.DeviceView, now: Date) -> String {
        switch device.condition {
        case .outOfSpec:
            let channels = device.channels.filter { $0.inSpec == false }.map(\.channel)
            return "OUT OF SPEC: \(channels.joined(separator: ", "))"
        case .fault:
            switch device.state {
            case .neverPolled: return "NO DATA YET"
            case .failing, .backoff:
                let polls = device.consecutiveFailures == 1 ? "1 poll" : "\(device.consecutiveFailures) polls"
                var text = "NO ANSWER (\(polls))"
                if device.state == .backoff, let next = device.nextTry {
                    text += ", next try \(ElapsedText.age(now.timeIntervalSince(next)))"
                }
                return text
            case .ok:
                let channels = device.channels.filter { $0.quality != .good }.map(\.channel)
                return "NO VALUE: \(channels.joined(separator: ", "))"
            }
        case .stale:
            return "STALE: no poll for \(ElapsedText.duration(device.lastPoll.map { now.timeIntervalSince($0) } ?? 0))"
        case .inSpec:
            return "IN SPEC"
        }
    }

    private static func row(_ channel: StatusSnapshot.ChannelView, now: Date) -> String {
        let unit = channel.unit.isEmpty ? "" : " " + channel.unit
        let rowClass = channel.inSpec == false ? "out" : channel.value == nil ? "none" : "in"
        // The band goes under the value, not beside it: a tile is a quarter of a screen wide.
        var cell: String
        if let number = channel.value {
            cell = "<span class=\"reading\">"
            if let breached = channel.breached { cell += "<span class=\"flag\">\(breached.hasSuffix("low") ? "▼ " : "▲ ")</span>" }
            cell += "<span class=\"value\">\(esc(AlertFormatter.number(number)))</span>\(esc(unit))</span>"
        } else {
            cell = "<span class=\"reading\"><span class=\"value\">—</span></span><span class=\"why\">\(words(channel.quality))"
            if let good = channel.lastGoodValue, let time = channel.lastGoodTime {
                cell += "<br><span class=\"last-good\">last good \(esc(AlertFormatter.number(good) + unit)) "
                    + "\(esc(ElapsedText.age(now.timeIntervalSince(time))))</span>"
            }
            cell += "</span>"
        }
        cell += "<span class=\"band\">\(esc(band(channel.limits, unit: unit)))</span>"
        return "<tr class=\"\(rowClass)\"><th>\(esc(channel.channel))</th><td>\(cell)</td></tr>\n"
    }

    /// Why a channel has no value, in an operator's words.
    static func words(_ quality: Quality?) -> String {
        switch quality {
        case nil: return "no reading yet"
        case .good?: return "no value"
        case .sensorFault?: return "sensor fault"
        case .timeout?: return "no answer"
        case .exception?: return "refused by the device (exception)"
        case .badResponse?: return "garbled reply"
        case .disconnected?: return "no connection"
        case .skipped?: return "not polled (backing off)"
        }
    }

    /// "36 – 38 °C", "≤ -150 °C", "≥ 4.5 %", or "no limits"; critical limits in brackets.
    static func band(_ limits: StatusSnapshot.LimitsView?, unit: String) -> String {
        guard let limits else { return "no limits" }
        var text: String
        switch (limits.low, limits.high) {
        case let (low?, high?): text = "\(short(low)) – \(short(high))\(unit)"
        case let (low?, nil): text = "≥ \(short(low))\(unit)"
        case let (nil, high?): text = "≤ \(short(high))\(unit)"
        case (nil, nil): text = ""
        }
        let critical = [limits.criticalLow.map { "< \(short($0))" }, limits.criticalHigh.map { "> \(short($0))" }].compactMap { $0 }
        if !critical.isEmpty { text += (text.isEmpty ? "" : " ") + "(critical \(critical.joined(separator: ", ")))" }
        return text.isEmpty ? "no limits" : text
    }

    static func label(_ condition: StatusSnapshot.Condition) -> String {
        switch condition {
        case .outOfSpec: return "OUT OF SPEC"
        case .fault: return "NO DATA"
        case .stale: return "STALE"
        case .inSpec: return "IN SPEC"
        }
    }

    /// "20:31:05 UTC", with the date when it is not `now`'s day.
    static func clock(_ date: Date, now: Date) -> String {
        let text = UTCTime.format(date)
        let day = text.prefix(10)
        let time = text.dropFirst(11).prefix(8)
        return day == UTCTime.format(now).prefix(10) ? "\(time) UTC" : "\(day) \(time) UTC"
    }

    /// Limits as written: 36, 4.5, -150.
    static func short(_ value: Double) -> String {
        String(format: "%g", value)
    }
}
