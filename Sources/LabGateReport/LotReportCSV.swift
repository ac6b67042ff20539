import Foundation
import GRDB
import LabGate

/// Every reading of a lot, one per line (time, device, channel, value, unit, quality, detail),
/// per placement in time order: the full data behind the report.
public enum LotReportCSV {
    public static let header = "time,device,channel,value,unit,quality,detail\n"

    /// Writes the CSV in chunks through `write` (a file or stdout), without holding it all.
    public static func write(
        lot: String, store: ReadingStore, config: Config?, now: Date = Date(), to write: (Data) -> Void
    ) throws {
        try store.pool.read { db in
            let (events, sets) = try LotReport.lotRecords(lot, db: db)
            let setList = LotReport.sqlList(sets)
            var buffer = header
            for placement in Placement.fold(events) {
                let device = config?.device(placement.device)
                let units = device.map { config!.profile(of: $0).fields.reduce(into: [String: String]()) { $0[$1.channel] = $1.unit } } ?? [:]
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT r.time, s.channel, r.value, q.name, r.detail FROM reading r
                    JOIN series s ON s.id = r.series LEFT JOIN quality q ON q.code = r.quality
                    WHERE s.device = ? AND r.time >= ? AND r.time < ? AND r.lot_set IN (\(setList))
                    ORDER BY r.time, s.channel
                    """, arguments: [placement.device, placement.start, placement.end ?? Int64.max])
                while let row = try cursor.next() {
                    let channel: String = row[1]
                    let value = (row[2] as Double?).map { String($0) } ?? ""
                    let cells = [
                        UTCTime.format(milliseconds: row[0]), placement.device, channel, value,
                        units[channel] ?? "", (row[3] as String?) ?? "?", (row[4] as String?) ?? "",
                    ]
                    buffer += cells.map(cell).joined(separator: ",") + "\n"
                    if buffer.utf8.count > 1 << 20 {
                        write(Data(buffer.utf8))
                        buffer = ""
                    }
                }
            }
            write(Data(buffer.utf8))
        }
    }

    static func cell(_ text: String) -> String {
        // Bytes, not Characters: this runs for seven cells of every reading.
        guard text.utf8.contains(where: { $0 == 0x2c || $0 == 0x22 || $0 == 0x0a || $0 == 0x0d }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
