/// One request to one unit and what its reply must be, whatever the framing: the request PDU, and
/// the checks a reply PDU must pass before its data counts. Reads of registers (functions 3 and 4)
/// and coils (1); single writes (functions 5 and 6), whose reply echoes the request.
public struct ModbusTransaction: Sendable, Hashable {
    /// What a normal reply's PDU holds after its function code.
    public enum ReplyShape: Sendable, Hashable {
        /// A byte count, then that many bytes (reads); the count must be this one.
        case counted(Int)
        /// The request's data again, byte for byte (single writes).
        case echo
    }

    public let unit: UInt8
    public let function: UInt8
    /// The request PDU after its function code.
    public let data: [UInt8]
    public let reply: ReplyShape

    public init(unit: UInt8, function: UInt8, data: [UInt8], reply: ReplyShape) {
        self.unit = unit
        self.function = function
        self.data = data
        self.reply = reply
    }

    /// Reads `count` registers of `table` from `address` (function 3 or 4). Refuses what no
    /// device can answer, before anything is sent.
    public static func readRegisters(unit: Int, table: ModbusTable, address: Int, count: Int) throws(ModbusError) -> ModbusTransaction {
        guard (0...255).contains(unit) else { throw .setup("invalid unit id \(unit)") }
        guard (1...maxReadRegisters).contains(count), (0...0xFFFF).contains(address), address + count <= 0x10000 else {
            throw .setup("cannot read \(count) register(s) at \(address)")
        }
        return ModbusTransaction(
            unit: UInt8(unit), function: table == .holding ? 3 : 4,
            data: [UInt8(address >> 8), UInt8(address & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF)],
            reply: .counted(count * 2))
    }

    /// Reads `count` coils from `address` (function 1); the reply packs them 8 to a byte.
    public static func readCoils(unit: Int, address: Int, count: Int) throws(ModbusError) -> ModbusTransaction {
        guard (0...255).contains(unit) else { throw .setup("invalid unit id \(unit)") }
        guard (1...maxReadCoils).contains(count), (0...0xFFFF).contains(address), address + count <= 0x10000 else {
            throw .setup("cannot read \(count) coil(s) at \(address)")
        }
        return ModbusTransaction(
            unit: UInt8(unit), function: 1,
            data: [UInt8(address >> 8), UInt8(address & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF)],
            reply: .counted((count + 7) / 8))
    }

    /// Sets coil `address` on or off (function 5: 0xFF00 is on, 0x0000 off); the reply echoes it.
    public static func writeCoil(unit: Int, address: Int, on: Bool) throws(ModbusError) -> ModbusTransaction {
        try writeSingle(unit: unit, function: 5, address: address, value: on ? 0xFF00 : 0x0000, what: "coil")
    }

    /// Writes one holding register (function 6); the reply echoes it.
    public static func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) -> ModbusTransaction {
        try writeSingle(unit: unit, function: 6, address: address, value: value, what: "register")
    }

    private static func writeSingle(
        unit: Int, function: UInt8, address: Int, value: UInt16, what: String
    ) throws(ModbusError) -> ModbusTransaction {
        // Unit 0 is broadcast: nothing answers it, so a write to it could not be checked.
        guard (1...255).contains(unit) else { throw .setup("invalid unit id \(unit) for a write") }
        guard (0...0xFFFF).contains(address) else { throw .setup("cannot write \(what) \(address)") }
        return ModbusTransaction(
            unit: UInt8(unit), function: function,
            data: [UInt8(address >> 8), UInt8(address & 0xFF), UInt8(value >> 8), UInt8(value & 0xFF)],
            reply: .echo)
    }

    /// The most coils one read may ask for (the specification's limit).
    public static let maxReadCoils = 2000

    /// The most registers one read may ask for (the PDU's 253-byte limit).
    public static let maxReadRegisters = 125

    /// The request PDU: function code and data.
    public var pdu: [UInt8] { [function] + data }

    /// Length of the reply PDU as far as its first bytes tell: exact once `prefix` has that many
    /// bytes, a lower bound before (how a serial line, which has no length field, is framed).
    /// Throws for a function code that answers neither this request nor with an exception.
    func replyLength(knowing prefix: ArraySlice<UInt8>) throws(ModbusError) -> Int {
        guard let code = prefix.first else { return 1 }
        if code == function | 0x80 { return 2 }
        guard code == function else { throw Self.otherFunction(code, asked: function) }
        switch reply {
        case .counted: return prefix.count < 2 ? 2 : 2 + Int(prefix[prefix.startIndex + 1])
        case .echo: return 1 + data.count
        }
    }

    /// The data of a reply PDU (after its function code and byte count), once the framing
    /// (header, unit, CRC) was checked: an exception reply throws the device's exception, and
    /// anything that does not answer this request is a bad response.
    func payload(ofReply pdu: ArraySlice<UInt8>) throws(ModbusError) -> ArraySlice<UInt8> {
        guard let code = pdu.first else { throw .badResponse("empty reply") }
        let body = pdu.dropFirst()
        if code == function | 0x80 {
            guard body.count == 1, let exception = body.first else { throw .badResponse("exception reply of \(pdu.count) bytes") }
            // The codes the specification names; libmodbus calls any other a bad response too.
            guard (1...11).contains(exception) else { throw .badResponse("unknown exception code \(exception)") }
            throw .exception(ModbusException(code: exception))
        }
        guard code == function else { throw Self.otherFunction(code, asked: function) }
        switch reply {
        case let .counted(expected):
            guard let count = body.first, Int(count) == expected else {
                throw .badResponse("\(body.first.map { "\($0)" } ?? "no") data bytes for \(expected) asked")
            }
            guard body.count == 1 + expected else {
                throw .badResponse("byte count \(count) in a reply of \(pdu.count) bytes")
            }
            return body.dropFirst()
        case .echo:
            guard Array(body) == data else { throw .badResponse("the echo differs from the request") }
            return body
        }
    }

    private static func otherFunction(_ code: UInt8, asked: UInt8) -> ModbusError {
        .badResponse("function \(code) answered, \(asked) asked")
    }
}
