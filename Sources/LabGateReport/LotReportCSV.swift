import Foundation
import GRDB
import LabGate

/// Every reading of a lot, one per line (time, device, channel, value, unit, quality, detail),
/// per placement in time order: the full data behind the report. Units and the resolution values
/// are written at are those recorded for the field the reading was decoded with.
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
            let placements = Placement.fold(events)
            var series: [(device: String, channel: String)] = []
            for device in Set(placements.map(\.device)) {
                for channel in try String.fetchAll(db, sql: "SELECT channel FROM series WHERE device = ?", arguments: [device]) {
                    series.append((device, channel))
                }
            }
            let history = try DefinitionHistory.load(db: db, series: series, specs: [])
            for placement in placements {
                let end = placement.end ?? max(now.millisecondsSince1970, placement.start)
                var fields: [String: FieldSchedule] = [:]
                for (device, channel) in series where device == placement.device {
                    let definition = ChannelDefinition(
                        device: device, channel: channel, spec: placement.spec, from: placement.start, to: end,
                        history: history, config: config)
                    fields[channel] = FieldSchedule(definition, from: placement.start)
                }
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT r.time, s.channel, r.value, q.name, r.detail FROM reading r
                    JOIN series s ON s.id = r.series LEFT JOIN quality q ON q.code = r.quality
                    WHERE s.device = ? AND r.time >= ? AND r.time < ? AND r.lot_set IN (\(setList))
                    ORDER BY r.time, s.channel
                    """, arguments: [placement.device, placement.start, placement.end ?? Int64.max])
                while let row = try cursor.next() {
                    let channel: String = row[1]
                    let time: Int64 = row[0]
                    let field = fields[channel]?.at(time)
                    let value = (row[2] as Double?).map { field?.resolution?.text($0) ?? String($0) } ?? ""
                    let cells = [
                        UTCTime.format(milliseconds: time), placement.device, channel, value,
                        field?.unit ?? "", (row[3] as String?) ?? "?", (row[4] as String?) ?? "",
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

/// A channel's unit and resolution from each time on over one placement.
struct FieldSchedule {
    struct Entry {
        var from: Int64
        var unit: String
        var resolution: ValueResolution?
    }

    var entries: [Entry]

    init(_ definition: ChannelDefinition, from: Int64) {
        entries = [Entry(from: from, unit: definition.field?.unit ?? "", resolution: definition.field?.resolution)]
        entries += definition.fieldChanges.map {
            Entry(from: $0.time.millisecondsSince1970, unit: $0.field.unit, resolution: $0.field.resolution)
        }
    }

    func at(_ time: Int64) -> Entry {
        guard entries.count > 1 else { return entries[0] }
        return entries.last { $0.from <= time } ?? entries[0]
    }
}
