import Foundation

/// Timestamps as records show them: ISO 8601, UTC, milliseconds (e.g. 2026-11-24T20:31:05.123Z).
public enum UTCTime {
    private static let seconds = Date.ISO8601FormatStyle(timeZone: .gmt)
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Rounds to the nearest millisecond from an integer count, so that a time read back from the
    /// store prints exactly as it printed when it was taken (formatting a Double truncates).
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let whole = ms - ((ms % 1000) + 1000) % 1000
        let text = seconds.format(Date(timeIntervalSince1970: Double(whole / 1000)))
        return text.dropLast() + String(format: ".%03dZ", Int(ms - whole))
    }

    public static func parse(_ text: String) -> Date? {
        if let date = try? fractional.parse(text) { return date }
        return try? seconds.parse(text)
    }
}

/// JSON as records store and print it: sorted keys, times as `UTCTime` text.
enum RecordJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime.format(date))
        }
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = UTCTime.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UTC time: \(text)")
            }
            return date
        }
        return decoder
    }
}
