import CModbus
import Glibc

/// A failed Modbus transaction, classified as the poller needs it: from errno once, or from the
/// checks of the reply (`ModbusTransaction`, `ModbusFraming`).
public enum ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No (complete) reply within the response timeout.
    case timeout
    /// The device answered with a Modbus exception.
    case exception(ModbusException)
    /// A reply whose checksum did not match (RTU).
    case badCRC
    /// A reply that does not answer the request: another protocol id, transaction, unit or
    /// function, or a wrong length or byte count.
    case badResponse(String)
    /// The connection or port failed: refused, reset, closed, unreachable.
    case transport(errno: Int32, String)
    /// The context could not be created (bad host, port or parameters).
    case setup(String)

    /// Builds the error for the errno libmodbus left after a failing call.
    public init(errno code: Int32) {
        let base = LG_MODBUS_ENOBASE
        switch code {
        case ETIMEDOUT: self = .timeout
        case base + 1...base + Int32(LG_EMBXGTAR - base):
            self = .exception(ModbusException(code: UInt8(code - base)))
        case LG_EMBBADCRC: self = .badCRC
        case LG_EMBBADDATA, LG_EMBBADEXC, LG_EMBUNKEXC, LG_EMBMDATA, LG_EMBBADSLAVE:
            self = .badResponse(Self.message(code))
        default: self = .transport(errno: code, Self.message(code))
        }
    }

    /// Errors after which the connection is closed and opened again; the others keep it.
    public var isTransport: Bool {
        if case .transport = self { return true }
        return false
    }

    /// Errors after which stale bytes may still arrive and must be flushed.
    public var needsFlush: Bool {
        switch self {
        case .timeout, .badCRC, .badResponse: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case let .exception(exception): "exception \(exception)"
        case .badCRC: "bad CRC"
        case let .badResponse(text): "bad response: \(text)"
        case let .transport(_, text): "connection: \(text)"
        case let .setup(text): text
        }
    }

    private static func message(_ code: Int32) -> String {
        String(cString: modbus_strerror(code))
    }
}

/// A Modbus exception code with the name the specification gives it.
public struct ModbusException: Sendable, Hashable, CustomStringConvertible {
    public var code: UInt8

    public init(code: UInt8) { self.code = code }

    public static let illegalFunction = ModbusException(code: 1)
    public static let illegalDataAddress = ModbusException(code: 2)
    public static let illegalDataValue = ModbusException(code: 3)
    public static let serverFailure = ModbusException(code: 4)
    public static let busy = ModbusException(code: 6)
    public static let gatewayTargetFailed = ModbusException(code: 11)

    public var name: String {
        switch code {
        case 1: "illegal function"
        case 2: "illegal data address"
        case 3: "illegal data value"
        case 4: "server device failure"
        case 5: "acknowledge"
        case 6: "server device busy"
        case 8: "memory parity error"
        case 10: "gateway path unavailable"
        case 11: "gateway target device failed to respond"
        default: "unknown"
        }
    }

    public var description: String { "\(code) (\(name))" }
}
