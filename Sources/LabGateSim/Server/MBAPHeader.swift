/// The 7-byte header in front of every Modbus TCP PDU.
public struct MBAPHeader: Sendable, Hashable {
    public static let size = 7
    /// Unit id + PDU; a PDU is 1 to 253 bytes.
    public static let lengthRange = 2...254

    public var transaction: UInt16
    public var protocolID: UInt16
    /// Bytes that follow the length field: the unit id and the PDU.
    public var length: Int
    public var unit: UInt8

    public init(transaction: UInt16, protocolID: UInt16 = 0, length: Int, unit: UInt8) {
        self.transaction = transaction
        self.protocolID = protocolID
        self.length = length
        self.unit = unit
    }

    /// Parses a header; nil when it cannot be Modbus (protocol id not 0, impossible length).
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.size else { return nil }
        transaction = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        protocolID = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        length = Int(bytes[4]) << 8 | Int(bytes[5])
        unit = bytes[6]
        guard protocolID == 0, Self.lengthRange.contains(length) else { return nil }
    }

    /// The PDU's length.
    public var pduLength: Int { length - 1 }

    /// A complete frame: this header's transaction and unit with `pdu`.
    public static func frame(transaction: UInt16, unit: UInt8, pdu: [UInt8]) -> [UInt8] {
        let length = pdu.count + 1
        return [
            UInt8(transaction >> 8), UInt8(transaction & 0xFF), 0, 0,
            UInt8(length >> 8), UInt8(length & 0xFF), unit,
        ] + pdu
    }
}
