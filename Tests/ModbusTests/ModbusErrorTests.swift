import CModbus
import Foundation
import Glibc
import Modbus
import TestSupport
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
    let port = freePort()
    let bus = ModbusBus(name: "test", transport: .tcp(host: "127.0.0.1", port: port))
    for _ in 0..<2 {
        let error = await #expect(throws: ModbusError.self) {
            try await bus.read(unit: 1, table: .holding, address: 0, count: 1, options: .init(timeout: .milliseconds(200)))
        }
        #expect(error?.isTransport == true, "\(String(describing: error))")
    }
}
