/// Simulated time as announced: `+45s`, `+1m00s`, `+2h05m30s`, `+1m00.500s`.
public enum SimTimeText {
    public static func format(_ time: Duration) -> String {
        let (seconds, attoseconds) = time.components
        let milliseconds = Int(attoseconds / 1_000_000_000_000_000)
        let sign = seconds < 0 ? "-" : "+"
        let total = Int(abs(seconds))
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        let fraction = milliseconds == 0 ? "" : "." + String(String(abs(milliseconds) + 1000).dropFirst())
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if hours > 0 { return "\(sign)\(hours)h\(two(minutes))m\(two(secs))\(fraction)s" }
        if minutes > 0 { return "\(sign)\(minutes)m\(two(secs))\(fraction)s" }
        return "\(sign)\(secs)\(fraction)s"
    }
}
