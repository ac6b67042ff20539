import Modbus
import Testing

/// Registers as they travel: wire bytes taken two at a time, high byte first.
private func words(_ bytes: [UInt8]) -> [UInt16] {
    stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
}

struct Vector: Sendable, CustomTestStringConvertible {
    var type: RegisterType
    var order: WordOrder
    var wire: [UInt8]
    var value: Double

    var testDescription: String { "\(type.rawValue) \(order.rawValue) \(value)" }
}

/// Each value written out by hand in every wire order: A is the most significant byte.
private let vectors: [Vector] = [
    // int16 -200 = 0xFF38
    .init(type: .int16, order: .ab, wire: [0xFF, 0x38], value: -200),
    .init(type: .int16, order: .ba, wire: [0x38, 0xFF], value: -200),
    .init(type: .int16, order: .ab, wire: [0x0E, 0x74], value: 3700),
    // uint16 0xFF38 = 65336: the same bytes, unsigned
    .init(type: .uint16, order: .ab, wire: [0xFF, 0x38], value: 65336),
    .init(type: .uint16, order: .ba, wire: [0x38, 0xFF], value: 65336),
    // int32 -123456 = 0xFFFE1DC0 (A=FF B=FE C=1D D=C0)
    .init(type: .int32, order: .abcd, wire: [0xFF, 0xFE, 0x1D, 0xC0], value: -123_456),
    .init(type: .int32, order: .cdab, wire: [0x1D, 0xC0, 0xFF, 0xFE], value: -123_456),
    .init(type: .int32, order: .badc, wire: [0xFE, 0xFF, 0xC0, 0x1D], value: -123_456),
    .init(type: .int32, order: .dcba, wire: [0xC0, 0x1D, 0xFE, 0xFF], value: -123_456),
    // uint32 3_000_000_000 = 0xB2D05E00
    .init(type: .uint32, order: .abcd, wire: [0xB2, 0xD0, 0x5E, 0x00], value: 3_000_000_000),
    .init(type: .uint32, order: .cdab, wire: [0x5E, 0x00, 0xB2, 0xD0], value: 3_000_000_000),
    .init(type: .uint32, order: .badc, wire: [0xD0, 0xB2, 0x00, 0x5E], value: 3_000_000_000),
    .init(type: .uint32, order: .dcba, wire: [0x00, 0x5E, 0xD0, 0xB2], value: 3_000_000_000),
    // float32 -80.25 = 0xC2A08000
    .init(type: .float32, order: .abcd, wire: [0xC2, 0xA0, 0x80, 0x00], value: -80.25),
    .init(type: .float32, order: .cdab, wire: [0x80, 0x00, 0xC2, 0xA0], value: -80.25),
    .init(type: .float32, order: .badc, wire: [0xA0, 0xC2, 0x00, 0x80], value: -80.25),
    .init(type: .float32, order: .dcba, wire: [0x00, 0x80, 0xA0, 0xC2], value: -80.25),
    // float32 37.5 = 0x42160000
    .init(type: .float32, order: .abcd, wire: [0x42, 0x16, 0x00, 0x00], value: 37.5),
    .init(type: .float32, order: .cdab, wire: [0x00, 0x00, 0x42, 0x16], value: 37.5),
]

@Test("decodes fixed wire bytes for every type and word order", arguments: vectors)
func decodesVector(_ vector: Vector) throws {
    #expect(try RegisterCodec.decode(words(vector.wire), as: vector.type, order: vector.order) == vector.value)
}

@Test("encodes to the same wire bytes it decodes", arguments: vectors)
func encodesVector(_ vector: Vector) throws {
    #expect(try RegisterCodec.encode(vector.value, as: vector.type, order: vector.order) == words(vector.wire))
}

@Test("every 32-bit order is covered by the vectors")
func vectorsCoverEveryOrder() {
    for type in RegisterType.allCases {
        let orders = Set(vectors.filter { $0.type == type }.map(\.order))
        #expect(orders == Set(type.allowedOrders), "\(type)")
    }
}

@Test("a float32 NaN decodes as NaN in every order, never as a number", arguments: [WordOrder.abcd, .cdab, .badc, .dcba])
func decodesNaN(order: WordOrder) throws {
    let nan = try RegisterCodec.encode(.nan, as: .float32, order: order)
    #expect(try RegisterCodec.decode(nan, as: .float32, order: order).isNaN)
    #expect(try RegisterCodec.decode(words([0x7F, 0xC0, 0x00, 0x00]), as: .float32, order: .abcd).isNaN)
}

@Test("the int16 sentinel 0x8000 decodes to -32768 and uint16 0xFFFF to 65535")
func decodesSentinels() throws {
    #expect(try RegisterCodec.decode([0x8000], as: .int16, order: .ab) == -32768)
    #expect(try RegisterCodec.decode([0xFFFF], as: .uint16, order: .ab) == 65535)
    #expect(try RegisterCodec.decode([0xFFFF], as: .int16, order: .ab) == -1)
}

@Test("a wrong number of registers or an order that does not fit the type is an error")
func rejectsMismatches() {
    #expect(throws: RegisterCodec.Failure.wrongWordCount(expected: 2, got: 1)) {
        try RegisterCodec.decode([0x4216], as: .float32, order: .abcd)
    }
    #expect(throws: RegisterCodec.Failure.orderNotAllowed(.int16, .cdab)) {
        try RegisterCodec.decode([1], as: .int16, order: .cdab)
    }
}

@Test("integer encoding rounds and clamps to the type's range")
func encodingClamps() throws {
    #expect(try RegisterCodec.encode(70000, as: .int16, order: .ab) == [0x7FFF])
    #expect(try RegisterCodec.encode(-1, as: .uint16, order: .ab) == [0])
    #expect(try RegisterCodec.encode(2.6, as: .int32, order: .abcd) == [0, 3])
}
