import Modbus
import LabGate

/// A request PDU as a server sees it, whatever the framing (TCP now, RTU later).
public enum ModbusRequest: Sendable, Hashable {
    /// Function 3 (holding registers) or 4 (input registers).
    case read(table: RegisterTable, address: Int, count: Int)
    /// Any other function code: answered with exception 1.
    case unsupported(function: UInt8)

    /// The function code on the wire.
    public var function: UInt8 {
        switch self {
        case let .read(table, _, _): table == .holding ? 3 : 4
        case let .unsupported(function): function
        }
    }

    /// Parses a request PDU (function code and data); nil when it is malformed.
    public init?(pdu: ArraySlice<UInt8>) {
        guard let function = pdu.first else { return nil }
        switch function {
        case 3, 4:
            guard pdu.count == 5 else { return nil }
            let bytes = Array(pdu)
            let address = Int(bytes[1]) << 8 | Int(bytes[2])
            let count = Int(bytes[3]) << 8 | Int(bytes[4])
            self = .read(table: function == 3 ? .holding : .input, address: address, count: count)
        default:
            self = .unsupported(function: function)
        }
    }
}


/// What a server sends back for one request.
public enum ModbusReply: Sendable, Hashable {
    case registers([UInt16])
    case exception(ModbusException)
    /// Nothing at all: the client times out.
    case none

    /// The reply PDU for `request`, or nil for `.none`.
    public func pdu(for request: ModbusRequest) -> [UInt8]? {
        switch self {
        case let .registers(words):
            var bytes: [UInt8] = [request.function, UInt8(truncatingIfNeeded: words.count * 2)]
            bytes.reserveCapacity(2 + words.count * 2)
            for word in words {
                bytes.append(UInt8(word >> 8))
                bytes.append(UInt8(word & 0xFF))
            }
            return bytes
        case let .exception(code):
            return [request.function | 0x80, code.code]
        case .none:
            return nil
        }
    }
}

/// Decides the reply to each request for a unit id. Called from the server's connection threads,
/// concurrently: implementations must be thread-safe.
public protocol ModbusRequestHandler: Sendable {
    func reply(unit: UInt8, request: ModbusRequest) -> ModbusReply
}
