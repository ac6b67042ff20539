import Modbus
import LabGate

/// A request PDU as a server sees it, whatever the framing (TCP or RTU).
public enum ModbusRequest: Sendable, Hashable {
    /// Function 3 (holding registers) or 4 (input registers).
    case read(table: ModbusTable, address: Int, count: Int)
    /// Function 1: coils (an I/O module's outputs).
    case readCoils(address: Int, count: Int)
    /// Function 5: one coil on (0xFF00) or off (0x0000); any other value is kept in `raw` (the
    /// device answers it with exception 3).
    case writeCoil(address: Int, raw: UInt16)
    /// Function 6: one holding register.
    case writeRegister(address: Int, value: UInt16)
    /// Any other function code: answered with exception 1.
    case unsupported(function: UInt8)

    /// The function code on the wire.
    public var function: UInt8 {
        switch self {
        case let .read(table, _, _): table == .holding ? 3 : 4
        case .readCoils: 1
        case .writeCoil: 5
        case .writeRegister: 6
        case let .unsupported(function): function
        }
    }

    /// The request's data after its function code (what a single write's reply echoes).
    var data: [UInt8] {
        func pair(_ a: Int, _ b: Int) -> [UInt8] { [UInt8(a >> 8 & 0xFF), UInt8(a & 0xFF), UInt8(b >> 8 & 0xFF), UInt8(b & 0xFF)] }
        switch self {
        case let .read(_, address, count), let .readCoils(address, count): return pair(address, count)
        case let .writeCoil(address, raw): return pair(address, Int(raw))
        case let .writeRegister(address, value): return pair(address, Int(value))
        case .unsupported: return []
        }
    }

    /// Parses a request PDU (function code and data); nil when it is malformed.
    public init?(pdu: ArraySlice<UInt8>) {
        guard let function = pdu.first else { return nil }
        switch function {
        case 1, 3, 4, 5, 6:
            guard pdu.count == 5 else { return nil }
            let bytes = Array(pdu)
            let address = Int(bytes[1]) << 8 | Int(bytes[2])
            let value = UInt16(bytes[3]) << 8 | UInt16(bytes[4])
            switch function {
            case 1: self = .readCoils(address: address, count: Int(value))
            case 5: self = .writeCoil(address: address, raw: value)
            case 6: self = .writeRegister(address: address, value: value)
            default: self = .read(table: function == 3 ? .holding : .input, address: address, count: Int(value))
            }
        default:
            self = .unsupported(function: function)
        }
    }
}


/// What a server sends back for one request.
public enum ModbusReply: Sendable, Hashable {
    case registers([UInt16])
    /// Coils, packed 8 to a byte, the first in the lowest bit.
    case coils([Bool])
    /// A single write done: the request's data again.
    case echo
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
        case let .coils(bits):
            var bytes = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
            for (index, on) in bits.enumerated() where on { bytes[index / 8] |= 1 << UInt8(index % 8) }
            return [request.function, UInt8(truncatingIfNeeded: bytes.count)] + bytes
        case .echo:
            return [request.function] + request.data
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
