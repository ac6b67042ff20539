import CModbus
import Foundation
import LabGate
import LabGateSim
import Testing

/// The simulated I/O module, as a Modbus client (libmodbus, real TCP) and its scenario see it.
@Suite("Simulator: I/O module with coils and a communication watchdog", .serialized)
struct IOModuleTests {
    @Test("a coil written with function 5 reads back on; with no write for the watchdog time every output drops off, announced")
    func watchdog() async throws {
        let announcements = Announcements()
        let port = freePort()
        let config = TestConfig.ioModule(port: port)
        let scenario = try Scenario.parse(
            yaml: "io_modules:\n  - { device: IO-01, watchdog: 1s }\nevents: []\n", file: "s.yaml", config: config)
        let simulator = Simulator(config: config, scenario: scenario, speed: 1, seed: 1, announce: announcements.record)
        try simulator.start()
        defer { simulator.stop() }
        let client = try LibModbusClient(port: port, unit: 1)

        #expect(client.writeCoil(3, on: true) == nil)
        #expect(client.writeRegister(5, value: 1) == nil)
        #expect(try client.readCoils(0, count: 4).get() == [false, false, false, true])
        #expect(try client.read(.holding, address: 5, count: 1).get() == [1])
        #expect(simulator.coils(device: "IO-01")?[3] == true)

        // Writes keep it on past the watchdog time...
        let start = ContinuousClock.now
        var lastWrite = start
        while start.duration(to: .now) < .milliseconds(1500) {
            #expect(client.writeCoil(3, on: true) == nil)
            lastWrite = .now
            #expect(try client.readCoils(3, count: 1).get() == [true])
            try await Task.sleep(for: .milliseconds(200))
        }
        // ... and once they stop it drops after the watchdog time (within a clock tick).
        try await eventually("coil 3 dropped", timeout: .seconds(5)) { try client.readCoils(3, count: 1).get() == [false] }
        #expect(lastWrite.duration(to: .now) >= .seconds(1))
        #expect(simulator.outputRegisters(device: "IO-01")?[5] == 0)
        #expect(announcements.all.contains { $0.hasSuffix("IO-01 communication watchdog: no write for 1s, outputs off") })
    }

    @Test("a write or read past the module's 16 coils or registers is answered with exception 2")
    func exceptions() throws {
        let port = freePort()
        let simulator = Simulator(config: TestConfig.ioModule(port: port), speed: 1, seed: 1, announce: { _ in })
        try simulator.start()
        defer { simulator.stop() }
        let client = try LibModbusClient(port: port, unit: 1)
        #expect(client.writeCoil(16, on: true) == .errno(LG_EMBXILADD))
        #expect(client.writeRegister(99, value: 1) == .errno(LG_EMBXILADD))
        #expect(client.readCoils(15, count: 2) == .failure(.errno(LG_EMBXILADD)))
        #expect(client.writeCoil(0, on: true) == nil, "the module still answers after its exceptions")
    }

    @Test("io_modules in a scenario name an io_module device, with its watchdog; anything else is an error at its line")
    func scenarioErrors() throws {
        let config = TestConfig.make(
            port: 1502,
            extraDevices: [Device(id: "IO-01", kind: .ioModule, bus: "lan", unit: 9, profile: "sim-incubator", every: .seconds(1))])
        let off = try Scenario.parse(yaml: "io_modules: [{ device: IO-01, watchdog: 0 }]\nevents: []\n", file: "s.yaml", config: config)
        #expect(off.watchdog(of: "IO-01") == nil)
        #expect(Scenario().watchdog(of: "IO-01") == IOModuleOutputs.defaultWatchdog)
        #expect(throws: ScenarioError.self) {
            try Scenario.parse(yaml: "io_modules: [{ device: INC-01, watchdog: 2s }]\nevents: []\n", file: "s.yaml", config: config)
        }
        do {
            _ = try Scenario.parse(yaml: "events: []\nio_modules:\n  - { device: INC-01, watchdog: 2s }\n", file: "s.yaml", config: config)
            Issue.record("accepted an incubator as an I/O module")
        } catch {
            #expect(error.description == "s.yaml:3:15: INC-01 is not an io_module (kind incubator): it has no outputs to watch")
        }
    }
}
