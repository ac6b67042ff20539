/// How requests and replies travel on one kind of link: what wraps a PDU, how long a reply is,
/// and what the wrapping of a reply must say. The bus owner's context keeps one per connection.
protocol ModbusFraming {
    /// The request's bytes on the wire (remembering what its reply must carry).
    mutating func frame(_ transaction: ModbusTransaction) -> [UInt8]
    /// The reply's length in bytes as far as `received` tells: exact once `received` has that
    /// many bytes, a lower bound before. Throws when the bytes cannot start a reply.
    func replyLength(_ received: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> Int
    /// The reply PDU of a complete frame, after checking its wrapping against the request.
    func replyPDU(_ frame: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> ArraySlice<UInt8>
}

/// Modbus TCP: a 7-byte MBAP header (transaction id, protocol id 0, length, unit id) before the PDU.
/// Every field of a reply's header is checked, which libmodbus 3.1.6 does not do (PITFALLS.md): a
/// gateway that answers with another unit's reply, or something that is not Modbus, is a bad
/// response, never a value.
struct TCPFraming: ModbusFraming {
    static let headerSize = 7
    /// The header's length field counts the unit id and the PDU (1 to 253 bytes).
    static let lengthRange = 2...254

    /// The transaction id of the last request framed.
    private(set) var transactionID: UInt16 = 0

    mutating func frame(_ transaction: ModbusTransaction) -> [UInt8] {
        transactionID &+= 1
        let length = transaction.data.count + 2
        return [
            UInt8(transactionID >> 8), UInt8(transactionID & 0xFF), 0, 0, UInt8(length >> 8), UInt8(length & 0xFF),
            transaction.unit, transaction.function,
        ] + transaction.data
    }

    func replyLength(_ received: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> Int {
        guard received.count >= Self.headerSize else { return Self.headerSize }
        let base = received.startIndex
        let length = Int(received[base + 4]) << 8 | Int(received[base + 5])
        guard Self.lengthRange.contains(length) else { throw .badResponse("MBAP length \(length)") }
        return 6 + length
    }

    func replyPDU(_ frame: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> ArraySlice<UInt8> {
        let base = frame.startIndex
        let protocolID = UInt16(frame[base + 2]) << 8 | UInt16(frame[base + 3])
        guard protocolID == 0 else { throw .badResponse("protocol id \(protocolID), not Modbus (0)") }
        let answered = UInt16(frame[base]) << 8 | UInt16(frame[base + 1])
        guard answered == transactionID else {
            throw .badResponse("transaction id \(answered) answered, \(transactionID) asked")
        }
        let unit = frame[base + 6]
        guard unit == transaction.unit else { throw .badResponse("unit \(unit) answered, \(transaction.unit) asked") }
        return frame.dropFirst(Self.headerSize)
    }
}

/// Modbus RTU: the unit id, the PDU and a CRC-16; a reply's length follows from its function code
/// and byte count (a serial line has no length field).
struct RTUFraming: ModbusFraming {
    func frame(_ transaction: ModbusTransaction) -> [UInt8] {
        CRC16.appending(to: [transaction.unit] + transaction.pdu)
    }

    func replyLength(_ received: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> Int {
        1 + (try transaction.replyLength(knowing: received.dropFirst())) + 2
    }

    func replyPDU(_ frame: ArraySlice<UInt8>, for transaction: ModbusTransaction) throws(ModbusError) -> ArraySlice<UInt8> {
        guard CRC16.isValid(frame) else { throw .badCRC }
        guard frame.first == transaction.unit else { throw .badResponse("unit \(frame.first ?? 0) answered, \(transaction.unit) asked") }
        return frame.dropFirst().dropLast(2)
    }
}
