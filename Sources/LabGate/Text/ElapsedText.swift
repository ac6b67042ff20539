import Foundation

/// Spans of time as a person reading a status wants them: short, in the unit that fits, and an
/// age said as "ago" or "in" (the terminal status, the status page, the daemon's log).
public enum ElapsedText {
    /// "0.8 ms", "12 ms", "1.50 s".
    public static func milliseconds(_ seconds: Double) -> String {
        if seconds >= 1 { return String(format: "%.2f s", seconds) }
        let ms = seconds * 1000
        return ms < 10 ? String(format: "%.1f ms", ms) : String(format: "%.0f ms", ms)
    }

    /// "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago"; "in 5 s" for a time ahead
    /// (rounded up: "in 0 s" would read as overdue).
    public static func age(_ interval: TimeInterval) -> String {
        if interval < 0 { return "in \(duration((-interval).rounded(.up)))" }
        if interval < 1 { return "just now" }
        return "\(duration(interval)) ago"
    }

    /// "5 s", "3 min", "2 h", "4 d" (rounded down).
    public static func duration(_ interval: TimeInterval) -> String {
        let seconds = Int(max(0, interval))
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86400) d"
        }
    }
}
