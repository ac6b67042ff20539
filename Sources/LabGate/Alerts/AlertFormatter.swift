import Foundation

/// The two renderings of an event: a line for people (alerts.log) and a JSON object for machines.
public enum AlertFormatter {
    /// The width of the event column: the names that fit are padded to it so the columns after
    /// them line up; a longer name is written whole (`grep deviation_acknowledged` must find it).
    static let eventColumn = 19

    /// One line, no newline: UTC time, severity, event, device, channel, value against limit, since.
    /// Text from users in it (comments, impact statements, user names) is escaped
    /// (`TerminalText`), so no event can add a line of its own to alerts.log.
    public static func line(_ event: AlertEvent) -> String {
        let time = UTCTime.format(event.time)
        let severity = event.severity.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        let name = event.event.rawValue
        let kind = name.count < eventColumn ? name.padding(toLength: eventColumn, withPad: " ", startingAt: 0) : name
        return "\(time) \(severity) \(kind) \(summary(event))"
    }

    /// The line without time, severity and padding, for logs that carry those already; escaped
    /// like the line.
    public static func summary(_ event: AlertEvent) -> String {
        var parts = [event.device]
        if let channel = event.channel { parts.append(channel) }
        if let deviation = event.deviation { parts.append(deviation) }
        parts.append(contentsOf: detailWords(event))
        return TerminalText.escape(parts.joined(separator: " "))
    }

    private static func detailWords(_ event: AlertEvent) -> [String] {
        var words: [String] = []
        let unit = event.unit.map { $0.isEmpty ? "" : " \($0)" } ?? ""
        if let value = event.value { words.append("\(number(value))\(unit)") }
        if let limit = event.limit {
            let relation: String
            switch event.event {
            case .excursionRecovered, .deviationRecovered: relation = "back within"
            case _ where limit.name == "max_gap": relation = "no valid reading for longer than"
            case .deviationAcknowledged, .deviationClosed, .deviationLotsAdded: relation = "limit"
            default: relation = limit.name.hasSuffix("low") ? "below" : "above"
            }
            if limit.name == "max_gap" {
                words.append("\(relation) max_gap \(DurationText.format(.milliseconds(Int64(limit.value * 1000)))) (\(limit.source))")
            } else {
                words.append("\(relation) \(limit.name) \(number(limit.value))\(unit) (\(limit.source))")
            }
        }
        if let since = event.since {
            words.append("since \(UTCTime.format(since))")
            if event.event == .excursionRecovered || event.event == .deviceBack {
                words.append("lasted \(DurationText.format(.milliseconds(Int64(event.time.timeIntervalSince(since) * 1000))))")
            }
        }
        if let worst = event.worst { words.append("worst \(number(worst))\(unit)") }
        if let lots = event.lots { words.append("lots \(lots.isEmpty ? "none" : lots.joined(separator: ","))") }
        if let user = event.user { words.append("by \(user)") }
        if let detail = event.detail { words.append("— \(detail)") }
        return words
    }

    public static func json(_ event: AlertEvent) -> String {
        let data = (try? encoder.encode(event)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(json line: String) throws -> AlertEvent {
        try decoder.decode(AlertEvent.self, from: Data(line.utf8))
    }

    package static func number(_ value: Double) -> String {
        String(format: "%.2f", value)
    }

    private static var encoder: JSONEncoder { RecordJSON.encoder }
    private static var decoder: JSONDecoder { RecordJSON.decoder }
}
