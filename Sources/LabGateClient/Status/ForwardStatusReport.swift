import Foundation
import LabGate

/// Forwarding to the site store in `labgate status`: the forward lag (readings stored here that
/// the site store has not confirmed, and for how long), the last forward and the last error.
public enum ForwardStatusReport {
    /// Nil when the config has no site store.
    public static func render(config: Config, store: ReadingStore, now: Date) -> String? {
        guard let settings = config.siteStore, let gateway = config.gateway else { return nil }
        var lines = ["site store \(settings.url) as gateway \(gateway)"]
        guard let status = try? ForwardStatusStore.fetch(from: store), status.gateway == gateway else {
            lines.append("  nothing forwarded yet (the daemon has not run with this site store)")
            return lines.map(TerminalText.escape).joined(separator: "\n") + "\n"
        }
        let state = status.connected ? "connected" : "NOT CONNECTED"
        lines.append("  \(state); forward lag \(status.lagReadings) readings, \(DurationText.format(.seconds(Int64(status.lagSeconds.rounded()))))"
            + " (site store holds up to reading \(status.confirmedReadings) of \(status.localReadings))")
        lines.append("  last forward \(status.lastForward.map { describe($0, now) } ?? "never")")
        if let error = status.lastError, let time = status.lastErrorTime {
            lines.append("  last error \(describe(time, now)): \(error)")
        }
        lines.append("  as of \(describe(status.updated, now))")
        return lines.map(TerminalText.escape).joined(separator: "\n") + "\n"
    }

    private static func describe(_ time: Date, _ now: Date) -> String {
        "\(UTCTime.format(time)) (\(DurationText.format(.seconds(Int64(max(0, now.timeIntervalSince(time)).rounded())))) ago)"
    }
}
