import Foundation
import LabGate

/// The notify channels in `labgate status`: each channel's last success and last failure (with
/// why), from the attempts the store recorded.
public enum NotifyStatusReport {
    /// Nil when the config has no notify channels.
    public static func render(config: Config, store: ReadingStore, now: Date) -> String? {
        guard let channels = config.notify?.channels, !channels.isEmpty else { return nil }
        // A store written before notifications were recorded has no such table: no attempts yet.
        let rows = (try? store.pool.read { db in try NotificationLog.health(db: db) }) ?? []
        let width = channels.map(\.id.count).max() ?? 0
        var lines = ["notify channels"]
        for channel in channels {
            let health = rows.first { $0.channel == channel.id } ?? ChannelHealth(channel: channel.id)
            var line = "  \(channel.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(channel.kind.name.padding(toLength: 12, withPad: " ", startingAt: 0))"
            line += "  last success \(health.lastSuccess.map { describe($0, now) } ?? "never")"
            line += "  last failure \(health.lastFailure.map { describe($0, now) } ?? "never")"
            if let failure = health.lastFailure, failure > (health.lastSuccess ?? .distantPast), let why = health.lastError {
                line += " — FAILING: \(why)"
            }
            lines.append(TerminalText.escape(line))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func describe(_ time: Date, _ now: Date) -> String {
        "\(UTCTime.format(time)) (\(DurationText.format(.seconds(Int64(max(0, now.timeIntervalSince(time)).rounded())))) ago)"
    }
}
