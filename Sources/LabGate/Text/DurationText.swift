import Foundation

/// Durations as people write them in config and scenario files: `500ms`, `10s`, `2m`, `1h30m`.
public enum DurationText {
    private static let units: [(suffix: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]

    /// The longest duration labgate takes anywhere (100 years): anything longer is a typo, and
    /// durations are added to clock instants and doubled by back-offs, which must not overflow.
    public static let longest = Duration.seconds(100 * 365 * 86_400)

    public enum Failure: Error, Equatable {
        case notADuration
        case tooLong
    }

    /// The duration `text` names, or nil when it is not a duration or is longer than `longest`.
    public static func parse(_ text: String) -> Duration? {
        try? parseChecked(text).get()
    }

    /// The duration `text` names, or why it is none.
    public static func parseChecked(_ text: String) -> Result<Duration, Failure> {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return .failure(.notADuration) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { ("0"..."9").contains($0) || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return .failure(.notADuration) }
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { $0.isLetter }
            guard let unit = units.first(where: { $0.suffix == suffix }) else { return .failure(.notADuration) }
            rest = rest.dropFirst(suffix.count)
            total += value * unit.seconds
        }
        // Compared as a Double before any conversion: Int64(1e23) would trap.
        guard total.isFinite, total <= longest.seconds else { return .failure(.tooLong) }
        return .success(.milliseconds(Int64((total * 1000).rounded())))
    }

    /// The shortest text that `parse` reads back as `duration` (to the millisecond).
    public static func format(_ duration: Duration) -> String {
        var ms = Int64(duration.seconds * 1000)
        if ms == 0 { return "0s" }
        var parts = ""
        for (suffix, seconds) in units.reversed() where ms > 0 {
            let size = Int64(seconds * 1000)
            if ms >= size {
                parts += "\(ms / size)\(suffix)"
                ms %= size
            }
        }
        return parts
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}
