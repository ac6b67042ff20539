import Synchronization

/// The shared, locked simulation; servers read it, the clock thread steps it.
final class SimulationBox: Sendable {
    let state: Mutex<Simulation>

    init(_ simulation: Simulation) {
        state = Mutex(simulation)
    }
}

/// Answers requests for the devices of one bus.
struct SimulatedBus: ModbusRequestHandler {
    let bus: String
    let box: SimulationBox

    func reply(unit: UInt8, request: ModbusRequest) -> ModbusReply {
        box.state.withLock { $0.reply(bus: bus, unit: unit, request: request) }
    }
}
