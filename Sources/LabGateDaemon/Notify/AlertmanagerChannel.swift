import Foundation
import LabGate
import Outbound

/// Alerts posted to Alertmanager's v2 API, one per alarm, told apart by their labels (site,
/// device, channel, lots, severity, deviation, alarm). A notice posts its alarms as firing; the
/// notifier re-posts every active alarm every `refresh` (Alertmanager resolves an alert that is
/// not posted again within its resolve_timeout, 5 minutes by default) and posts an alarm with
/// `endsAt` once acknowledged, or recovered when its rule says `until: recovered`.
struct AlertmanagerChannel: NotificationChannel, AlarmStateChannel {
    static let refresh = Duration.seconds(60)

    let settings: AlertmanagerSettings
    let text: NoticeText
    let client: AlertmanagerClient

    init(settings: AlertmanagerSettings, text: NoticeText, poster: JSONPoster) {
        self.settings = settings
        self.text = text
        client = AlertmanagerClient(baseURL: settings.url.text, timeout: settings.timeout, poster: poster)
    }

    func deliver(_ notice: Notice) async throws {
        let alerts = notice.items.compactMap { item -> AlertmanagerAlert? in
            // Information (a recovery, a test) is posted as an alert that has already ended.
            let ended = item.alarm == nil ? notice.time : nil
            return alert(item.event, alarm: item.alarm, item: item, startsAt: item.event.time, endsAt: ended)
        }
        try await client.post(alerts)
    }

    func sync(active: [AlarmRecord], ended: [AlarmRecord]) async throws {
        let now = Date()
        let alerts = active.map { alert($0.event, alarm: $0.id, item: nil, startsAt: $0.raisedDate, endsAt: nil) }
            + ended.map { alert($0.event, alarm: $0.id, item: nil, startsAt: $0.raisedDate, endsAt: now) }
        guard !alerts.isEmpty else { return }
        try await client.post(alerts)
    }

    private func alert(_ event: AlertEvent, alarm: String?, item: Notice.Item?, startsAt: Date, endsAt: Date?) -> AlertmanagerAlert {
        var labels = [
            "alertname": "labgate_\(event.event.rawValue)", "site": text.site, "device": event.device,
            "severity": event.severity.rawValue,
        ]
        if let channel = event.channel { labels["channel"] = channel }
        if let lots = event.lots, !lots.isEmpty { labels["lots"] = lots.joined(separator: ",") }
        if let deviation = event.deviation { labels["deviation"] = deviation }
        if let alarm { labels["alarm"] = alarm }
        let shown = item ?? Notice.Item(event: event, reason: .raised, alarm: alarm)
        var annotations = ["summary": text.headline(event), "description": text.describe(shown, at: Date())]
        if let how = text.acknowledge(shown) { annotations["acknowledge"] = how }
        return AlertmanagerAlert(
            labels: labels, annotations: annotations, startsAt: startsAt, endsAt: endsAt, generatorURL: text.statusPage)
    }
}
