import Foundation

/// A notice as plain text for a person reading it on a phone: the subject carries what to act on
/// (severity, device, channel, value against limit, lots); the body says since when, the worst
/// value, the deviation or alarm id, how to acknowledge, and links the status page.
public struct NoticeText: Sendable {
    public var site: String
    /// The status page, when the config has an `http:` listener.
    public var statusPage: String?

    public init(site: String, statusPage: String? = nil) {
        self.site = site
        self.statusPage = statusPage
    }

    /// The status page's address as people reach it: the first of `http.names` if any, else its
    /// address.
    public init(config: Config) {
        site = config.site
        statusPage = config.http.map { http in
            let host = http.names.first ?? (http.address == "0.0.0.0" || http.address == "::" ? "127.0.0.1" : http.address)
            let shown = host.contains(":") ? "[\(host)]" : host
            return "http://\(shown):\(http.port)/"
        }
    }

    public func subject(_ notice: Notice) -> String {
        let severity = notice.severity.rawValue.uppercased()
        guard notice.items.count > 1 else {
            guard let item = notice.items.first else { return "\(severity) labgate \(site)" }
            return "\(severity) \(prefix(item))\(headline(item.event))"
        }
        // Many at once (a power cut): the count, then which kinds on which devices.
        var byKind: [(kind: String, devices: [String])] = []
        for item in notice.items {
            let kind = item.event.event.rawValue
            let device = item.event.channel.map { "\(item.event.device) \($0)" } ?? item.event.device
            if let index = byKind.firstIndex(where: { $0.kind == kind }) {
                if !byKind[index].devices.contains(device) { byKind[index].devices.append(device) }
            } else {
                byKind.append((kind, [device]))
            }
        }
        let parts = byKind.map { "\($0.kind) \(Self.list($0.devices, most: 4))" }
        return "\(severity) \(notice.items.count) events at \(site): " + parts.joined(separator: "; ")
    }

    public func body(_ notice: Notice) -> String {
        var blocks: [String] = []
        if notice.items.count > 1 {
            blocks.append("\(notice.items.count) events at \(site), most severe first:")
        }
        let items = notice.items.enumerated().sorted { a, b in
            a.element.event.severity != b.element.event.severity
                ? a.element.event.severity > b.element.event.severity : a.offset < b.offset
        }.map(\.element)
        for item in items { blocks.append(describe(item, at: notice.time)) }
        var footer: [String] = []
        if let statusPage { footer.append("Status: \(statusPage)") }
        footer.append("-- labgate at \(site)")
        blocks.append(footer.joined(separator: "\n"))
        return blocks.joined(separator: "\n\n") + "\n"
    }

    /// What an item says, one fact a line.
    public func describe(_ item: Notice.Item, at time: Date) -> String {
        let event = item.event
        var lines: [String] = []
        var title = "\(event.severity.rawValue.uppercased()) \(event.event.rawValue)"
        if let deviation = event.deviation { title += " \(deviation)" }
        if let alarm = item.alarm { title += " (alarm \(alarm))" }
        lines.append(title)
        lines.append(headline(event))
        if let since = event.since {
            lines.append("since \(UTCTime.format(since)) (\(ago(since, at: time)))")
        } else {
            lines.append("at \(UTCTime.format(event.time))")
        }
        if let worst = event.worst { lines.append("worst \(AlertFormatter.number(worst))\(unit(event))") }
        if let lots = event.lots, !lots.isEmpty { lines.append("lots \(lots.joined(separator: ", "))") }
        if let detail = event.detail { lines.append(TerminalText.escape(detail)) }
        switch item.reason {
        case .repeat: lines.append("repeat \(item.number ?? 1): not yet acknowledged")
        case .escalation: lines.append("escalated: not acknowledged since \(UTCTime.format(event.time))")
        case .raised, .info, .test: break
        }
        if let recovered = item.recovered {
            lines.append("recovered \(UTCTime.format(recovered)), still not acknowledged")
        }
        if let how = acknowledge(item) { lines.append("To acknowledge: \(how)") }
        return lines.joined(separator: "\n")
    }

    /// The command that acknowledges the item, nil when nothing needs acknowledging.
    public func acknowledge(_ item: Notice.Item) -> String? {
        if let deviation = item.event.deviation, item.alarm != nil {
            return "labgate deviations ack \(deviation) --comment \"...\""
        }
        if let alarm = item.alarm { return "labgate alarms ack \(alarm) --comment \"...\"" }
        return nil
    }

    /// `INC-01 co2 7.20 % above high 5.50 % · lots MSC-AT-0042`: the device, channel, value
    /// against limit and lots, escaped like the alert log (names come from the config).
    public func headline(_ event: AlertEvent) -> String {
        var words = [event.device]
        if let channel = event.channel { words.append(channel) }
        if let value = event.value { words.append("\(AlertFormatter.number(value))\(unit(event))") }
        if let limit = event.limit {
            if limit.name == "max_gap" {
                words.append("no valid reading for longer than \(DurationText.format(.milliseconds(Int64(limit.value * 1000))))")
            } else {
                let relation = limit.name.hasSuffix("low") ? "below" : "above"
                words.append("\(relation) \(limit.name) \(AlertFormatter.number(limit.value))\(unit(event))")
            }
        } else if event.value == nil {
            words.append(event.event.rawValue.replacingOccurrences(of: "_", with: " "))
        }
        var text = words.joined(separator: " ")
        if let lots = event.lots, !lots.isEmpty { text += " · lots \(Self.list(lots, most: 3))" }
        return TerminalText.escape(text)
    }

    private func prefix(_ item: Notice.Item) -> String {
        switch item.reason {
        case .repeat: "(repeat \(item.number ?? 1)) "
        case .escalation: "(escalated) "
        case .test: "(test) "
        case .raised, .info: ""
        }
    }

    private func unit(_ event: AlertEvent) -> String {
        guard let unit = event.unit, !unit.isEmpty else { return "" }
        return " \(unit)"
    }

    private func ago(_ since: Date, at time: Date) -> String {
        let seconds = max(0, time.timeIntervalSince(since))
        return "\(DurationText.format(.seconds(Int64(seconds.rounded())))) ago"
    }

    /// `A, B, C and 27 more`.
    static func list(_ names: [String], most: Int) -> String {
        guard names.count > most else { return names.joined(separator: ", ") }
        return names.prefix(most).joined(separator: ", ") + " and \(names.count - most) more"
    }
}
