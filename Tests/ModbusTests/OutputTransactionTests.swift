import Testing
@testable import Modbus

/// The requests that drive an I/O module's outputs, as the specification writes them.
@Suite("Output writes and coil reads: request bytes")
struct OutputTransactionTests {
    @Test("a coil is set with function 5 and 0xFF00, cleared with 0x0000; a register with function 6; both expect their echo")
    func singleWrites() throws {
        let on = try ModbusTransaction.writeCoil(unit: 9, address: 0x0102, on: true)
        let off = try ModbusTransaction.writeCoil(unit: 9, address: 0x0102, on: false)
        let register = try ModbusTransaction.writeRegister(unit: 9, address: 40, value: 1)
        #expect(on.pdu == [5, 0x01, 0x02, 0xFF, 0x00] && on.reply == .echo)
        #expect(off.pdu == [5, 0x01, 0x02, 0x00, 0x00])
        #expect(register.pdu == [6, 0, 40, 0, 1] && register.reply == .echo)
        #expect(RTUFraming().frame(on) == CRC16.appending(to: [9, 5, 0x01, 0x02, 0xFF, 0x00]))
        #expect(try Array(on.payload(ofReply: [5, 0x01, 0x02, 0xFF, 0x00])) == [0x01, 0x02, 0xFF, 0x00])
        #expect(throws: ModbusError.badResponse("the echo differs from the request")) {
            try on.payload(ofReply: [5, 0x01, 0x02, 0x00, 0x00])
        }
    }

    @Test("a broadcast write (unit 0) is refused: nothing would confirm it")
    func broadcast() {
        #expect(throws: ModbusError.setup("invalid unit id 0 for a write")) {
            try ModbusTransaction.writeCoil(unit: 0, address: 0, on: true)
        }
    }

    @Test("a coil read asks function 1 and expects one byte per 8 coils")
    func coilRead() throws {
        let read = try ModbusTransaction.readCoils(unit: 2, address: 0, count: 10)
        #expect(read.pdu == [1, 0, 0, 0, 10] && read.reply == .counted(2))
        #expect(try Array(read.payload(ofReply: [1, 2, 0b0000_0101, 0b10])) == [0b0000_0101, 0b10])
    }
}
