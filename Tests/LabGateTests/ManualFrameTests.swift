import Foundation
import Modbus
import Testing
@testable import LabGate

/// Requests and replies printed in real device manuals, byte for byte, decoded with our codec and
/// the shipped profiles to the values the manuals state. The frame checks (CRC, LRC, layout) are
/// written here from the Modbus specification, only to prove the bytes are the manual's own and
/// consistent; the daemon's framing is libmodbus's.
@Suite("Manual examples decoded byte for byte")
struct ManualFrameTests {
    /// CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first.
    static func crc(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }

    /// Modbus ASCII: ':' then hex pairs, the last pair the LRC (two's complement of the byte sum).
    static func asciiFrame(_ text: String) throws -> [UInt8] {
        #expect(text.hasPrefix(":") && text.hasSuffix("\r\n"))
        // On the wire, byte by byte ("\r\n" is one Character in Swift, two bytes on the line).
        let hex = Array(text.utf8.dropFirst().dropLast(2))
        try #require(hex.count % 2 == 0)
        let bytes = try stride(from: 0, to: hex.count, by: 2).map { index in
            try #require(UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16))
        }
        let body = Array(bytes.dropLast())
        let lrc = UInt8(truncatingIfNeeded: -body.reduce(0) { $0 + Int($1) })
        #expect(bytes.last == lrc, "LRC as printed")
        return body
    }

    /// The registers of a read reply's data bytes (each register high byte first).
    static func registers(_ data: ArraySlice<UInt8>) -> [UInt16] {
        stride(from: data.startIndex, to: data.endIndex, by: 2).map { UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]) }
    }

    @Test("Vaisala GMP251/GMP252 guide, 'Reading CO2 value': F0 03 04 D4 7A 43 E8 33 AB is 465.65997 ppm")
    func vaisalaCO2() throws {
        // M211799EN-K (GMP251) "Modbus communication examples" = M211897EN-D (GMP252) A.3.
        let request: [UInt8] = [0xF0, 0x03, 0x00, 0x00, 0x00, 0x02, 0xD1, 0x2A]
        let reply: [UInt8] = [0xF0, 0x03, 0x04, 0xD4, 0x7A, 0x43, 0xE8, 0x33, 0xAB]
        #expect(Self.crc(Array(request.dropLast(2))) == Array(request.suffix(2)))
        #expect(Self.crc(Array(reply.dropLast(2))) == Array(reply.suffix(2)))

        let profile = try ShippedProfiles.profile("vaisala-gmp251")
        let co2 = try #require(profile.field("co2"))
        // The request is the one the planner makes for this field: read holding (03), address 0, 2 registers.
        let planned = try #require(RequestPlanner.plan([co2]).first)
        #expect(request[1] == 0x03 && planned.table == .holding)
        #expect(Int(request[2]) << 8 | Int(request[3]) == planned.address)
        #expect(Int(request[4]) << 8 | Int(request[5]) == planned.count)
        #expect(reply[0] == request[0] && reply[1] == 0x03 && Int(reply[2]) == 2 * planned.count)

        let words = Self.registers(reply[3..<7])
        #expect(words == [0xD47A, 0x43E8], "least significant word first")
        #expect(try RegisterCodec.decode(words, as: .float32, order: co2.order) == Double(Float(465.65997)))
        let decoded = FieldDecoder.decode(co2, words: words[...])
        #expect(decoded.quality == .good)
        // 465.65997 ppm is 0.046566 %CO2.
        #expect(abs(try #require(decoded.value) - 0.046565997) < 1e-9)
        #expect(co2.unit == "%")
    }

    @Test("Thermo Scientific Isotemp manual, cabinet setpoint: :010305300002C5 → :010304FFFFFCE01E is −80 °C")
    func thermoSetpoint() throws {
        // "Isotemp -86°C Freezers", appendix B "Modbus ASCII Parameter Table", row 01.
        let request = try Self.asciiFrame(":010305300002C5\r\n")
        let reply = try Self.asciiFrame(":010304FFFFFCE01E\r\n")
        let profile = try ShippedProfiles.profile("thermo-ult-freezer")
        let setpoint = try #require(profile.field("cabinet_setpoint"))
        let planned = try #require(RequestPlanner.plan([setpoint]).first)
        #expect(request == [0x01, 0x03, 0x05, 0x30, 0x00, 0x02])
        #expect(Int(request[2]) << 8 | Int(request[3]) == planned.address && Int(request[5]) == planned.count)
        #expect(reply[0...2] == [0x01, 0x03, 0x04])
        let words = Self.registers(reply[3...])
        #expect(words == [0xFFFF, 0xFCE0])
        // "Signed 2's complement of the 0xFFFFFCE0 is equal to -800. -800/10 = -80. So the setpoint is -80C."
        #expect(try RegisterCodec.decode(words, as: setpoint.type, order: setpoint.order) == -800)
        let decoded = FieldDecoder.decode(setpoint, words: words[...])
        #expect(decoded.quality == .good)
        #expect(abs(try #require(decoded.value) - -80) < 1e-9)
        #expect(setpoint.unit == "°C")
    }

    @Test("Thermo Scientific Isotemp manual, TC3: the printed float reply decodes to −70.99 °C")
    func thermoTemperature() throws {
        // Row 14 (TC3): request :010304D0000226, reply :010304C28DFBE4CA. The manual leaves the
        // float conversion to the reader ("paste the data in Hexadecimal Representation").
        let request = try Self.asciiFrame(":010304D0000226\r\n")
        let reply = try Self.asciiFrame(":010304C28DFBE4CA\r\n")
        let tc3 = try #require(try ShippedProfiles.profile("thermo-ult-freezer").field("tc3"))
        #expect(Int(request[2]) << 8 | Int(request[3]) == tc3.address)
        let words = Self.registers(reply[3...])
        let decoded = FieldDecoder.decode(tc3, words: words[...])
        #expect(abs(try #require(decoded.value) - -70.992) < 0.001)
    }

    @Test("Vaisala HMP format as worked in the Indigo510/520 guide: 0x41F47AE1 is 30.56 %RH")
    func vaisalaHumidity() throws {
        // Least significant word first: the wire carries 7A E1 41 F4.
        let rh = try #require(try ShippedProfiles.profile("vaisala-hmp").field("rh"))
        let decoded = FieldDecoder.decode(rh, words: [0x7AE1, 0x41F4])
        #expect(abs(try #require(decoded.value) - 30.56) < 0.0001)
    }
}
