import Foundation
import Modbus

extension Harness {
    /// The simulated I/O module `unit`'s coils, read by the test over a Modbus connection of its
    /// own (not the daemon's), to see what the daemon switched.
    func coils(unit: Int) -> SimulatedCoils {
        SimulatedCoils(bus: ModbusBus(name: "test", transport: .tcp(host: "127.0.0.1", port: port)), unit: unit)
    }
}

struct SimulatedCoils: Sendable {
    let bus: ModbusBus
    let unit: Int

    func isOn(_ address: Int) async throws -> Bool {
        try await bus.readCoils(unit: unit, address: address, count: 1, options: .init(timeout: .milliseconds(500)))[0]
    }
}
