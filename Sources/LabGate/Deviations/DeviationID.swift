import Foundation

/// Deviation ids: DEV-YYYY-NNNN, numbered per year of the deviation's start.
public enum DeviationID {
    public static func make(year: Int, number: Int) -> String {
        "DEV-\(year)-" + String(format: "%04d", number)
    }

    /// The year and number of an id; nil for anything else.
    public static func parse(_ id: String) -> (year: Int, number: Int)? {
        let parts = id.split(separator: "-")
        guard parts.count == 3, parts[0] == "DEV", let year = Int(parts[1]), let number = Int(parts[2]) else { return nil }
        return (year, number)
    }

    /// The highest number of each year among `ids`.
    public static func highest(_ ids: some Sequence<String>) -> [Int: Int] {
        var highest: [Int: Int] = [:]
        for id in ids {
            guard let (year, number) = parse(id) else { continue }
            highest[year] = max(highest[year] ?? 0, number)
        }
        return highest
    }

    /// The year of a start time (UTC milliseconds), which names the id.
    public static func year(of ms: Int64) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar.component(.year, from: Date(millisecondsSince1970: ms))
    }
}
