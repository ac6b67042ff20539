import LabGate
import Modbus

/// The registers a device sends for one profile field.
public enum RegisterImage {
    /// `value` as the field's registers: raw = (value − offset) / scale, then encoded in the
    /// field's type and word order. A faulty sensor sends the field's first `invalid` raw value,
    /// else NaN for float32, else the type's sentinel (0x8000 for int16, 0xFFFF for uint16,
    /// 0x80000000 for int32, 0xFFFFFFFF for uint32).
    public static func words(for field: Field, value: Double, faulty: Bool = false) -> [UInt16] {
        let raw: Double
        if faulty {
            raw = field.invalid.first ?? sentinel(field.type)
        } else {
            raw = field.scale == 0 ? value - field.offset : (value - field.offset) / field.scale
        }
        if let words = try? RegisterCodec.encode(raw, as: field.type, order: field.order) { return words }
        return (try? RegisterCodec.encode(raw, as: field.type, order: field.type.defaultOrder))
            ?? Array(repeating: 0, count: field.type.width)
    }

    /// The raw value a failed sensor of this type sends when the profile names none.
    public static func sentinel(_ type: RegisterType) -> Double {
        switch type {
        case .float32: .nan
        case .int16: Double(Int16.min)
        case .uint16: Double(UInt16.max)
        case .int32: Double(Int32.min)
        case .uint32: Double(UInt32.max)
        }
    }
}
