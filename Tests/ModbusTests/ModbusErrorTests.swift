import CModbus
import Foundation
import Glibc
import Modbus
import Testing

@Test("libmodbus errno values map to the errors the poller acts on")
func classifiesErrno() {
    #expect(ModbusError(errno: ETIMEDOUT) == .timeout)
    #expect(ModbusError(errno: LG_EMBXSBUSY) == .exception(.busy))
    #expect(ModbusError(errno: LG_EMBXILADD) == .exception(.illegalDataAddress))
    #expect(ModbusError(errno: LG_EMBXGTAR) == .exception(.gatewayTargetFailed))
    #expect(ModbusError(errno: LG_EMBBADCRC) == .badCRC)
    #expect(ModbusError(errno: LG_EMBBADDATA).needsFlush)
    #expect(ModbusError(errno: LG_EMBBADSLAVE).needsFlush)
    #expect(ModbusError(errno: ECONNRESET).isTransport)
    #expect(ModbusError(errno: EPIPE).isTransport)
    #expect(ModbusError(errno: ECONNREFUSED).isTransport)
    #expect(!ModbusError.timeout.isTransport)
    #expect(!ModbusError.exception(.busy).isTransport)
}

@Test("a refused connection is a transport error, every time it is tried")
func refusedConnection() async throws {
    // A port nothing listens on: take a free one and close it again.
    let port = try freePort()
    let bus = ModbusBus(name: "test", transport: .tcp(host: "127.0.0.1", port: port))
    for _ in 0..<2 {
        let error = await #expect(throws: ModbusError.self) {
            try await bus.read(unit: 1, table: .holding, address: 0, count: 1, timeout: .milliseconds(200))
        }
        #expect(error?.isTransport == true, "\(String(describing: error))")
    }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXErrorCode(rawValue: errno).map { POSIXError($0) } ?? POSIXError(.EIO) }
    return Int(UInt16(bigEndian: address.sin_port))
}
