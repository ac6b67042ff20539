/// The data type a device encodes in one or two 16-bit registers.
public enum RegisterType: String, Sendable, CaseIterable, Codable {
    case int16, uint16, int32, uint32, float32

    /// Registers one value occupies.
    public var width: Int {
        switch self {
        case .int16, .uint16: 1
        case .int32, .uint32, .float32: 2
        }
    }

    /// Word orders that make sense for this type: 16-bit values only swap bytes.
    public var allowedOrders: [WordOrder] {
        width == 1 ? [.ab, .ba] : [.abcd, .cdab, .badc, .dcba]
    }

    public var defaultOrder: WordOrder { width == 1 ? .ab : .abcd }
}

/// Byte order on the wire, named by where the most significant byte `A` travels.
///
/// Registers are always sent big-endian (high byte first), so for a 32-bit value the four wire
/// bytes of two consecutive registers are read left to right: `ABCD` is big-endian, `CDAB` swaps
/// the two words (the "little-endian word order" of many PLCs), `BADC` swaps bytes within each
/// word, `DCBA` is fully little-endian. Tools disagree on names like "swapped"; wire order doesn't.
public enum WordOrder: String, Sendable, CaseIterable, Codable {
    case ab = "AB", ba = "BA"
    case abcd = "ABCD", cdab = "CDAB", badc = "BADC", dcba = "DCBA"
}
