import Foundation

/// Timestamps as records show them: ISO 8601, UTC, milliseconds (e.g. 2026-11-24T20:31:05.123Z).
public enum UTCTime {
    private static let seconds = Date.ISO8601FormatStyle(timeZone: .gmt)
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Rounds to the nearest millisecond from an integer count, so that a time read back from the
    /// store prints exactly as it printed when it was taken (formatting a Double truncates).
    public static func format(_ date: Date) -> String {
        format(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// `2026-11-24T23:21:10.154Z` from milliseconds since 1970, computed directly (the civil
    /// date from the day count): a CSV of a 6-week lot formats 1.45 million of them, and going
    /// through a format style cost more than everything else per row.
    public static func format(milliseconds ms: Int64) -> String {
        let (year, month, day, inDay) = civil(milliseconds: ms)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int64, _ at: Int, _ width: Int) {
            var rest = value
            for index in stride(from: at + width - 1, through: at, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        put(year, 0, 4)
        put(month, 5, 2)
        put(day, 8, 2)
        put(inDay / 3_600_000, 11, 2)
        put(inDay / 60_000 % 60, 14, 2)
        put(inDay / 1000 % 60, 17, 2)
        put(inDay % 1000, 20, 3)
        for (index, byte) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] as [(Int, Unicode.Scalar)] {
            bytes[index] = UInt8(ascii: byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The UTC civil date (proleptic Gregorian, eras of 400 years: H. Hinnant's algorithm) and the
    /// milliseconds into that day, of a time in milliseconds since 1970, before 1970 too.
    public static func civil(milliseconds ms: Int64) -> (year: Int64, month: Int64, day: Int64, inDay: Int64) {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let inDay = ms - days * 86_400_000
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day, inDay)
    }

    public static func parse(_ text: String) -> Date? {
        if let date = try? fractional.parse(text) { return date }
        return try? seconds.parse(text)
    }
}

/// JSON as records store and print it: sorted keys, times as `UTCTime` text.
package enum RecordJSON {
    package static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime.format(date))
        }
        return encoder
    }

    package static var decoder: JSONDecoder {
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
