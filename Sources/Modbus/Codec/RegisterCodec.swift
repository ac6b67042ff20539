/// Decodes and encodes register words in Swift (never libmodbus's float helpers, see PITFALLS.md).
public enum RegisterCodec {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case wrongWordCount(expected: Int, got: Int)
        case orderNotAllowed(RegisterType, WordOrder)

        public var description: String {
            switch self {
            case let .wrongWordCount(expected, got): "expected \(expected) register(s), got \(got)"
            case let .orderNotAllowed(type, order): "word order \(order.rawValue) does not apply to \(type.rawValue)"
            }
        }
    }

    /// The raw value of `words` as the device meant it (floats may be NaN or infinite).
    public static func decode(_ words: ArraySlice<UInt16>, as type: RegisterType, order: WordOrder) throws(Failure) -> Double {
        guard words.count == type.width else { throw .wrongWordCount(expected: type.width, got: words.count) }
        guard type.allowedOrders.contains(order) else { throw .orderNotAllowed(type, order) }
        let first = words.startIndex
        if type.width == 1 {
            var word = words[first]
            if order == .ba { word = word.byteSwapped }
            return type == .int16 ? Double(Int16(bitPattern: word)) : Double(word)
        }
        let bits = bigEndianBits(wire: wireBytes(words[first], words[first + 1]), order: order)
        switch type {
        case .int32: return Double(Int32(bitPattern: bits))
        case .uint32: return Double(bits)
        default: return Double(Float(bitPattern: bits))
        }
    }

    public static func decode(_ words: [UInt16], as type: RegisterType, order: WordOrder) throws(Failure) -> Double {
        try decode(words[...], as: type, order: order)
    }

    /// The registers a device would send for `value` (rounded and clamped for integer types).
    public static func encode(_ value: Double, as type: RegisterType, order: WordOrder) throws(Failure) -> [UInt16] {
        guard type.allowedOrders.contains(order) else { throw .orderNotAllowed(type, order) }
        switch type {
        case .int16, .uint16:
            let word: UInt16 = type == .int16
                ? UInt16(bitPattern: Int16(clamping: rounded(value, Int16.min, Int16.max)))
                : UInt16(clamping: rounded(value, UInt16.min, UInt16.max))
            return [order == .ba ? word.byteSwapped : word]
        case .int32, .uint32, .float32:
            let bits: UInt32
            switch type {
            case .int32: bits = UInt32(bitPattern: Int32(clamping: rounded(value, Int32.min, Int32.max)))
            case .uint32: bits = UInt32(clamping: rounded(value, UInt32.min, UInt32.max))
            default: bits = Float(value).bitPattern
            }
            let wire = wireOrder(bigEndian: bits, order: order)
            return [UInt16(wire[0]) << 8 | UInt16(wire[1]), UInt16(wire[2]) << 8 | UInt16(wire[3])]
        }
    }

    private static func rounded<T: FixedWidthInteger>(_ value: Double, _ low: T, _ high: T) -> Int64 {
        guard value.isFinite else { return 0 }
        return Int64(Swift.min(Swift.max(value.rounded(), Double(low)), Double(high)))
    }

    private static func wireBytes(_ w0: UInt16, _ w1: UInt16) -> [UInt8] {
        [UInt8(w0 >> 8), UInt8(w0 & 0xFF), UInt8(w1 >> 8), UInt8(w1 & 0xFF)]
    }

    /// Where A, B, C and D (most to least significant) sit in the wire bytes for each order.
    private static func positions(_ order: WordOrder) -> [Int] {
        switch order {
        case .abcd, .ab, .ba: [0, 1, 2, 3]
        case .cdab: [2, 3, 0, 1]
        case .badc: [1, 0, 3, 2]
        case .dcba: [3, 2, 1, 0]
        }
    }

    private static func bigEndianBits(wire: [UInt8], order: WordOrder) -> UInt32 {
        positions(order).reduce(UInt32(0)) { $0 << 8 | UInt32(wire[$1]) }
    }

    private static func wireOrder(bigEndian bits: UInt32, order: WordOrder) -> [UInt8] {
        var wire = [UInt8](repeating: 0, count: 4)
        for (significance, position) in positions(order).enumerated() {
            wire[position] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(3 - significance)))
        }
        return wire
    }
}
