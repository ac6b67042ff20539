import Foundation
import Modbus

/// Turns a field's registers into a value in engineering units, or a bad quality.
public enum FieldDecoder {
    public static func decode(_ field: Field, words: ArraySlice<UInt16>) -> (value: Double?, quality: Quality, detail: String?) {
        let raw: Double
        do {
            raw = try RegisterCodec.decode(words, as: field.type, order: field.order)
        } catch {
            return (nil, .badResponse, error.description)
        }
        if field.invalid.contains(raw) {
            return (nil, .sensorFault, "sentinel \(formatRaw(raw)) at \(field.table.rawValue) \(field.address)")
        }
        guard raw.isFinite else {
            return (nil, .sensorFault, "\(raw) at \(field.table.rawValue) \(field.address)")
        }
        return (raw * field.scale + field.offset, .good, nil)
    }

    private static func formatRaw(_ raw: Double) -> String {
        raw == raw.rounded() && abs(raw) < 1e15 ? String(Int64(raw)) : String(raw)
    }
}
