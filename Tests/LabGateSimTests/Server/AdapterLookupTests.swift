import Foundation
import Glibc
import LabGateSim
import Modbus
import Synchronization
import Testing

/// An RTU bus whose adapter is looked up at each open (as an adapter named by USB identity is):
/// unplugged, it is down with the lookup's reason; plugged in again under another node, it is
/// found there without a restart.
@Test("an adapter looked up at each open: missing means bus down with the reason, found again under a new node means up")
func adapterLookedUpAtEachOpen() async throws {
    let line = try SerialLine()
    let node = Mutex<String?>(nil)
    let bus = ModbusBus(
        name: "line", transport: .rtu(line.settings), reconnectHoldoff: .zero,
        resolvePort: {
            if let path = node.withLock({ $0 }) { return .success(path) }
            return .failure(.transport(errno: ENODEV, "no serial adapter plugged in matches usb 0403:6001 serial A10K1ABC"))
        })
    let missing = await #expect(throws: ModbusError.self) { try await bus.incubator(unit: 1) }
    #expect(missing == .transport(errno: ENODEV, "no serial adapter plugged in matches usb 0403:6001 serial A10K1ABC"))
    #expect(await bus.takeLinkEvents().map(\.reason) == ["no serial adapter plugged in matches usb 0403:6001 serial A10K1ABC"])

    // Plugged in: the node it gets now is another name for the line (as ttyUSB0 becomes ttyUSB1).
    let alias = line.folder + "/ttyUSB1"
    try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: line.settings.port)
    node.withLock { $0 = alias }
    #expect(try await bus.incubator(unit: 2).count == 4)
    #expect(await bus.takeLinkEvents().map(\.up) == [true])
}
