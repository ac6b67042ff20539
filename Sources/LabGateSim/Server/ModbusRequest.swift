import Modbus
import LabGate

/// A request PDU as a server sees it, whatever the framing (TCP now, RTU later).
public enum ModbusRequest: Sendable, Hashable {
    /// Function 3 (holding registers) or 4 (input registers).
    case read(table: ModbusTable, address: Int, count: Int)
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

/// How a reply goes wrong on the wire (fault injection on a serial line; `delay` on TCP too).
public struct WireFaults: Sendable, Hashable {
    /// Extra time before the reply, on top of its wire time.
    public var delay: Duration = .zero
    /// The reply's CRC is wrong.
    public var corruptCRC = false
    /// The reply is cut short.
    public var truncate = false
    /// The reply carries another unit id.
    public var wrongUnit = false

    public init(delay: Duration = .zero, corruptCRC: Bool = false, truncate: Bool = false, wrongUnit: Bool = false) {
        self.delay = delay
        self.corruptCRC = corruptCRC
        self.truncate = truncate
        self.wrongUnit = wrongUnit
    }
}

/// Decides the reply to each request for a unit id. Called from the server's connection threads,
/// concurrently: implementations must be thread-safe.
public protocol ModbusRequestHandler: Sendable {
    func reply(unit: UInt8, request: ModbusRequest) -> ModbusReply
    /// How the reply to `unit` goes wrong on the wire; none by default.
    func wireFaults(unit: UInt8) -> WireFaults
}

extension ModbusRequestHandler {
    public func wireFaults(unit: UInt8) -> WireFaults { WireFaults() }
}

/// What a serial-line server also needs to know: which units are on the line (others get no reply
/// at all), and whether the port is there.
public protocol SerialLineHandler: ModbusRequestHandler {
    func hasUnit(_ unit: UInt8) -> Bool
    var isPortPresent: Bool { get }
}
