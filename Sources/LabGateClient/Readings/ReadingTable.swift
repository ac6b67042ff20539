import Foundation
import LabGate

/// Stored readings rendered for `labgate readings`: an aligned table, CSV or JSON, each reading
/// with the lots that were inside its device when it was taken (ids separated by spaces in the
/// table and CSV).
public enum ReadingTable {
    public static func render(_ readings: [Reading], units: [String: String], format: String) -> String {
        switch format {
        case "csv": csv(readings, units: units)
        case "json": json(readings, units: units)
        default: table(readings, units: units)
        }
    }

    private static func value(_ reading: Reading) -> String {
        reading.value.map { String($0) } ?? ""
    }

    private static func table(_ readings: [Reading], units: [String: String]) -> String {
        guard !readings.isEmpty else { return "no readings\n" }
        let rows = readings.map { r in
            [UTCTime.format(r.time), r.device, r.channel, r.value.map(AlertFormatter.number) ?? "—",
             units[r.channel] ?? "", r.quality.rawValue, r.lots.joined(separator: " "), r.detail ?? ""]
        }
        let header = ["time (UTC)", "device", "channel", "value", "unit", "quality", "lots", "detail"]
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == header.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    private static func csv(_ readings: [Reading], units: [String: String]) -> String {
        var text = "time,device,channel,value,unit,quality,detail,lots\n"
        for r in readings {
            let cells = [
                UTCTime.format(r.time), r.device, r.channel, value(r), units[r.channel] ?? "", r.quality.rawValue,
                r.detail ?? "", r.lots.joined(separator: " "),
            ]
            text += cells.map(csvCell).joined(separator: ",") + "\n"
        }
        return text
    }

    private static func csvCell(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private struct Row: Encodable {
        var time: String
        var device: String
        var channel: String
        var value: Double?
        var unit: String
        var quality: String
        var detail: String?
        var lots: [String]
    }

    private static func json(_ readings: [Reading], units: [String: String]) -> String {
        let rows = readings.map {
            Row(time: UTCTime.format($0.time), device: $0.device, channel: $0.channel, value: $0.value,
                unit: units[$0.channel] ?? "", quality: $0.quality.rawValue, detail: $0.detail, lots: $0.lots)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(rows)) ?? Data("[]".utf8), as: UTF8.self) + "\n"
    }
}
