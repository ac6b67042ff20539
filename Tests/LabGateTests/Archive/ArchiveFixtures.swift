import Foundation
import GRDB
@testable import LabGate

/// UTC ms of a day of 2026 (month 1–12, day, hour).
func utc(_ month: Int, _ day: Int, _ hour: Int = 0) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.date(from: DateComponents(year: 2026, month: month, day: day, hour: hour))!.millisecondsSince1970
}

/// Writes INC-01's two channels every `step` ms over `[from, to)`, tagged with `lots`, sealed
/// in batches of `batch` polls committed at the batch's last reading's time (as the daemon does,
/// at its cadence), so the seals fall in the months the readings do.
func writeMonths(
    _ store: ReadingStore, from: Int64, to: Int64, step: Int64 = 600_000, batch: Int = 12, lots: [String] = ["LOT-A"],
    device: String = "INC-01"
) async throws {
    var polls: [Reading] = []
    var time = from
    var index = 0
    func flush(_ sealedAt: Int64) async throws {
        let readings = polls
        polls = []
        try await store.pool.write { db in _ = try ReadingWriter.insert(readings, known: ReadingWriter.Known(), db: db, sealedAt: sealedAt) }
    }
    while time < to {
        let date = Date(millisecondsSince1970: time)
        polls.append(Reading(device: device, channel: "temperature", time: date, value: 37 + Double(index % 5) / 10, quality: .good, lots: lots))
        if index % 97 == 13 {
            polls.append(Reading(device: device, channel: "co2", time: date, value: nil, quality: .timeout, detail: "no reply", lots: lots))
        } else {
            polls.append(Reading(device: device, channel: "co2", time: date, value: 5 + Double(index % 7) / 10, quality: .good, lots: lots))
        }
        index += 1
        if index % batch == 0 { try await flush(time) }
        time += step
    }
    if !polls.isEmpty { try await flush(time - step) }
}

func readingCount(_ store: ReadingStore) throws -> Int {
    try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 }
}
