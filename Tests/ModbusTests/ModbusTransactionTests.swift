import Testing
@testable import Modbus

/// The checks of a reply PDU and the framing of requests, without a link.
@Suite("A transaction's request framing and reply checks")
struct ModbusTransactionTests {
    let read = try! ModbusTransaction.readRegisters(unit: 7, table: .input, address: 0x0102, count: 2)
    /// Function 6 (write single register 0x0010 = 0x1234): its reply echoes the request.
    let write = ModbusTransaction(unit: 7, function: 6, data: [0x00, 0x10, 0x12, 0x34], reply: .echo)

    @Test("a read request on TCP carries a new transaction id, protocol id 0, its length and unit; on RTU its CRC")
    func requests() {
        var tcp = TCPFraming()
        #expect(tcp.frame(read) == [0, 1, 0, 0, 0, 6, 7, 4, 0x01, 0x02, 0, 2])
        #expect(tcp.frame(read).prefix(2) == [0, 2])
        #expect(RTUFraming().frame(read) == CRC16.appending(to: [7, 4, 0x01, 0x02, 0, 2]))
    }

    @Test("a serial reply's length follows from its function code and byte count, or from the exception")
    func rtuLengths() throws {
        let framing = RTUFraming()
        #expect(try framing.replyLength([], for: read) == 4)
        #expect(try framing.replyLength([7, 4], for: read) == 5)
        #expect(try framing.replyLength([7, 4, 4], for: read) == 9)
        #expect(try framing.replyLength([7, 0x84], for: read) == 5)
        #expect(try framing.replyLength([7, 6], for: write) == 8)
        #expect(throws: ModbusError.self) { try framing.replyLength([7, 3], for: read) }
    }

    @Test("a single write's reply must echo its request; an exception is the device's")
    func echo() throws {
        #expect(try Array(write.payload(ofReply: [6, 0x00, 0x10, 0x12, 0x34])) == [0x00, 0x10, 0x12, 0x34])
        #expect(throws: ModbusError.badResponse("the echo differs from the request")) {
            try write.payload(ofReply: [6, 0x00, 0x10, 0x12, 0x35])
        }
        #expect(throws: ModbusError.exception(.illegalDataValue)) { try write.payload(ofReply: [0x86, 3]) }
        #expect(throws: ModbusError.badResponse("unknown exception code 0")) { try write.payload(ofReply: [0x86, 0]) }
    }

    @Test("more registers than a PDU holds, or past the last address, are refused before anything is sent")
    func limits() {
        #expect(throws: ModbusError.setup("cannot read 126 register(s) at 0")) {
            try ModbusTransaction.readRegisters(unit: 1, table: .holding, address: 0, count: 126)
        }
        #expect(throws: ModbusError.setup("cannot read 2 register(s) at 65535")) {
            try ModbusTransaction.readRegisters(unit: 1, table: .holding, address: 0xFFFF, count: 2)
        }
        #expect(throws: ModbusError.setup("invalid unit id 256")) {
            try ModbusTransaction.readRegisters(unit: 256, table: .holding, address: 0, count: 1)
        }
    }
}
