import Foundation
import GRDB

/// What the store holds after a run, read directly (read-only).
struct StoreCheck {
    let queue: DatabasePool

    init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        queue = try DatabasePool(path: path, configuration: configuration)
    }

    func readingCount() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 }
    }

    /// Readings by quality name.
    func qualities() throws -> [String: Int] {
        try queue.read { db in
            var result: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT q.name AS name, count(*) AS n FROM reading r JOIN quality q ON q.code = r.quality GROUP BY q.name
                """) {
                result[row["name"]] = row["n"]
            }
            return result
        }
    }

    /// Each device's poll times (ms since 1970) from one channel's series, in order.
    func pollTimes(channel: String) throws -> [String: [Int64]] {
        try queue.read { db in
            var result: [String: [Int64]] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT s.device AS device, r.time AS time FROM reading r JOIN series s ON s.id = r.series
                WHERE s.channel = ? ORDER BY s.device, r.time
                """, arguments: [channel])
            while let row = try rows.next() {
                result[row["device"], default: []].append(row["time"])
            }
            return result
        }
    }
}

/// Polls missing from a device's series: each gap between two consecutive polls longer than 1.5
/// periods counts its whole periods less one.
func missingPolls(_ times: [Int64], periodMS: Int64) -> Int {
    var missing = 0
    for (a, b) in zip(times, times.dropFirst()) where b - a > periodMS * 3 / 2 {
        missing += Int(((Double(b - a) / Double(periodMS)).rounded())) - 1
    }
    return missing
}
