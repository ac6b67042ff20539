/// CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first after an RTU
/// frame.
public enum CRC16 {
    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        return crc
    }

    public static func modbus(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes { crc = (crc >> 8) ^ table[Int((crc ^ UInt16(byte)) & 0xFF)] }
        return crc
    }

    /// `frame` with its CRC appended (low byte first).
    public static func appending(to frame: [UInt8]) -> [UInt8] {
        let crc = modbus(frame)
        return frame + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }

    /// Whether the last two bytes of `frame` are the CRC of the bytes before them.
    public static func isValid(_ frame: some Collection<UInt8>) -> Bool {
        guard frame.count >= 4 else { return false }
        let body = frame.dropLast(2)
        let crc = modbus(body)
        let tail = Array(frame.suffix(2))
        return tail[0] == UInt8(crc & 0xFF) && tail[1] == UInt8(crc >> 8)
    }
}
