import Foundation
import LabGate
import LabGateSim
import Testing

/// The simulator in real time: clock, speed, events, lifecycle.
@Suite("Simulator", .serialized)
struct SimulatorTests {
    @Test("simulated time runs at speed × real time and scenario events fire and are announced")
    func speedAndEvents() async throws {
        let announcements = Announcements()
        let port = freePort()
        let simulator = Simulator(
            config: TestConfig.make(port: port),
            scenario: Scenario(events: [ScenarioEvent(at: .seconds(30), device: "INC-02", kind: .doorOpen, duration: .seconds(180))]),
            speed: 60, seed: 1, announce: announcements.record)
        try simulator.start()
        defer { simulator.stop() }
        #expect(announcements.all.contains("sim: bus lan on 127.0.0.1:\(port), units 1 INC-01, 2 INC-02, 3 FRZ-01, 4 LN2-01, 5 FRG-01"))

        // 30 s simulated = 0.5 s real; the door is open for 180 s simulated = 3 s real, long enough
        // for a busy machine to see CO2 low.
        try await eventually("the door opening announced", timeout: .seconds(15)) { announcements.all.contains("sim +30s INC-02 door_open for 3m") }
        try await eventually("CO2 falling below 2 % with the door open", timeout: .seconds(15)) { (simulator.value(device: "INC-02", channel: "co2") ?? 5) < 2 }
        try await eventually("the door closing announced", timeout: .seconds(15)) { announcements.all.contains("sim +3m30s INC-02 door_open ended") }
        // Recovery: CO2 back in spec a few simulated minutes later.
        try await eventually("CO2 back near 5 %", timeout: .seconds(15)) { abs((simulator.value(device: "INC-02", channel: "co2") ?? 0) - 5) < 0.5 }
        #expect(simulator.now > .seconds(210))
        #expect(abs((simulator.value(device: "INC-01", channel: "co2") ?? 0) - 5) < 0.1)
    }

    @Test("stopping pauses simulated time")
    func pause() async throws {
        let simulator = Simulator(config: TestConfig.make(port: 0), speed: 10, announce: { _ in })
        try simulator.start()
        try await Task.sleep(for: .milliseconds(350))
        simulator.stop()
        let paused = simulator.now
        #expect(paused >= .seconds(2))
        #expect(paused < .seconds(20))
        try await Task.sleep(for: .milliseconds(300))
        #expect(simulator.now == paused)
    }

    @Test("buses that are not on loopback are skipped with a message")
    func skipsRemoteBuses() throws {
        let announcements = Announcements()
        let port = freePort()
        let remote = Bus(id: "plant", transport: .tcp(host: "192.0.2.10", port: 502))
        let config = TestConfig.make(
            port: port, extraBuses: [remote],
            extraDevices: [Device(id: "FRZ-09", kind: .freezer, bus: "plant", unit: 1, profile: "sim-ult-freezer", every: .seconds(30))])
        let simulator = Simulator(config: config, announce: announcements.record)
        #expect(simulator.servedBuses == ["lan"])
        try simulator.start()
        defer { simulator.stop() }
        #expect(announcements.all.contains("sim: skipping bus plant (192.0.2.10:502): not a loopback address"))
        #expect(canConnect(port: port))
        // Still simulated, just not served.
        #expect(simulator.value(device: "FRZ-09", channel: "temperature") != nil)
    }

    @Test("localhost is served")
    func localhost() throws {
        let port = freePort()
        let simulator = Simulator(config: TestConfig.make(host: "localhost", port: port), announce: { _ in })
        try simulator.start()
        defer { simulator.stop() }
        let client = try LibModbusClient(port: port, unit: 1, host: "localhost")
        #expect((try? client.read(.input, address: 0, count: 2).get())?.count == 2)
    }

    @Test("run() serves until its task is cancelled, then frees the port")
    func runUntilCancelled() async throws {
        let port = freePort()
        let simulator = Simulator(config: TestConfig.make(port: port), announce: { _ in })
        let task = Task { try await simulator.run() }
        try await eventually("the simulator listening") { canConnect(port: port) }
        task.cancel()
        try await task.value
        #expect(!simulator.isRunning)
        #expect(!canConnect(port: port))
    }
}
