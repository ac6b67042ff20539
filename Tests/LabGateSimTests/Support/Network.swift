import CModbus
import Foundation
import Glibc
import Synchronization
@_exported import TestSupport

/// A real libmodbus TCP client (as the daemon will use it).
final class LibModbusClient {
    let context: OpaquePointer

    enum Failure: Error, Equatable {
        /// errno after the failing call (e.g. LG_EMBXGTAR, ETIMEDOUT).
        case errno(Int32)
    }

    init(port: Int, unit: Int, timeout: Duration = .seconds(1), host: String = "127.0.0.1") throws {
        guard let context = modbus_new_tcp_pi(host, String(port)) else { throw Failure.errno(lg_errno()) }
        self.context = context
        let microseconds = Int(timeout.seconds * 1_000_000)
        modbus_set_response_timeout(context, UInt32(microseconds / 1_000_000), UInt32(microseconds % 1_000_000))
        guard modbus_set_slave(context, Int32(unit)) == 0, modbus_connect(context) == 0 else {
            let code = lg_errno()
            modbus_free(context)
            throw Failure.errno(code)
        }
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    func setUnit(_ unit: Int) {
        modbus_set_slave(context, Int32(unit))
    }

    func read(_ table: Table, address: Int, count: Int) -> Result<[UInt16], Failure> {
        var words = [UInt16](repeating: 0, count: max(count, 1))
        let n = words.withUnsafeMutableBufferPointer { buffer in
            switch table {
            case .holding: modbus_read_registers(context, Int32(address), Int32(count), buffer.baseAddress)
            case .input: modbus_read_input_registers(context, Int32(address), Int32(count), buffer.baseAddress)
            }
        }
        guard n >= 0 else {
            let code = lg_errno()
            modbus_flush(context)
            return .failure(.errno(code))
        }
        return .success(Array(words.prefix(Int(n))))
    }

    enum Table { case holding, input }

    /// Function 5 through libmodbus: nil when the write was echoed.
    func writeCoil(_ address: Int, on: Bool) -> Failure? {
        guard modbus_write_bit(context, Int32(address), on ? 1 : 0) == 1 else {
            let code = lg_errno()
            modbus_flush(context)
            return .errno(code)
        }
        return nil
    }

    /// Function 6 through libmodbus: nil when the write was echoed.
    func writeRegister(_ address: Int, value: UInt16) -> Failure? {
        guard modbus_write_register(context, Int32(address), value) == 1 else {
            let code = lg_errno()
            modbus_flush(context)
            return .errno(code)
        }
        return nil
    }

    /// Function 1 through libmodbus.
    func readCoils(_ address: Int, count: Int) -> Result<[Bool], Failure> {
        var bits = [UInt8](repeating: 0, count: count)
        guard modbus_read_bits(context, Int32(address), Int32(count), &bits) == count else {
            let code = lg_errno()
            modbus_flush(context)
            return .failure(.errno(code))
        }
        return .success(bits.map { $0 != 0 })
    }
}

/// A plain TCP client for sending hand-made frames.
final class RawClient {
    private var fd: Int32

    init?(port: Int, receiveTimeout: Duration = .seconds(2)) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: Int(receiveTimeout.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok else {
            Glibc.close(fd)
            return nil
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    enum Received: Equatable {
        case bytes([UInt8])
        /// The server closed the connection.
        case closed
        case timedOut
    }

    /// Whatever arrives next (up to 260 bytes).
    func receive() -> Received {
        var buffer = [UInt8](repeating: 0, count: 260)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 260, 0) }
        if n > 0 { return .bytes(Array(buffer.prefix(n))) }
        if n == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .timedOut : .closed
    }

    /// A request frame for function `function` with `data`.
    static func frame(transaction: UInt16 = 1, unit: UInt8, function: UInt8, data: [UInt8]) -> [UInt8] {
        let length = 2 + data.count
        return [UInt8(transaction >> 8), UInt8(transaction & 0xFF), 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), unit, function]
            + data
    }
}

/// Collects announcements from several threads.
final class Announcements: Sendable {
    private let lines = Mutex<[String]>([])

    func record(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    var all: [String] { lines.withLock { $0 } }
}
