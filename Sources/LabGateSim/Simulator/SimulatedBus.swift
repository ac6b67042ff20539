import Synchronization

/// The shared, locked simulation; servers read it, the clock thread steps it.
final class SimulationBox: Sendable {
    let state: Mutex<Simulation>

    init(_ simulation: Simulation) {
        state = Mutex(simulation)
    }
}

/// Answers requests for the devices of one bus.
struct SimulatedBus: SerialLineHandler {
    let bus: String
    let box: SimulationBox
    /// Hears an I/O module's watchdog dropping its outputs.
    var announce: @Sendable (String) -> Void = { _ in }

    func reply(unit: UInt8, request: ModbusRequest) -> ModbusReply {
        let now = ContinuousClock.now
        return box.state.withLock { $0.reply(bus: bus, unit: unit, request: request, at: now, announce: announce) }
    }

    func wireFaults(unit: UInt8) -> WireFaults {
        box.state.withLock { $0.wireFaults(bus: bus, unit: unit) }
    }

    func hasUnit(_ unit: UInt8) -> Bool {
        box.state.withLock { $0.hasUnit(bus: bus, unit: unit) }
    }

    var isPortPresent: Bool {
        !box.state.withLock { $0.isPortVanished(bus: bus) }
    }
}
