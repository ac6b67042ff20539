import Foundation
import LabGate
import LabGateSim
import Logging
import Modbus
import Synchronization
import Testing

/// Output writes through the bus owners of a running `PollingService`, against the simulator's I/O
/// module on a real pty (RTU) or loopback TCP: what lands, what fails, what it costs the polls.
@Suite("Relay outputs: writes between polls, the fail-safe heartbeat", .serialized)
struct RelayOutputsTests {
    @Test("a coil and a register written through the bus owner land on the simulated I/O module between polls (RTU on a pty)")
    func writeLands() async throws {
        let line = try IOLine(every: .milliseconds(500))
        let polling = line.startPolling()
        try await polling.outputs.set(device: "IO-01", output: .coil(2), on: true)
        #expect(line.simulator.coils(device: "IO-01")?[2] == true)
        try await polling.outputs.set(device: "IO-01", output: .register(4), on: true)
        #expect(line.simulator.outputRegisters(device: "IO-01")?[4] == 1)
        try await polling.outputs.set(device: "IO-01", output: .coil(2), on: false)
        #expect(line.simulator.coils(device: "IO-01")?[2] == false)
        // The writes went over the line as functions 5 and 6, between the polls of every device.
        #expect(Set(line.simulator.serialTraffic(bus: "line").map(\.function)).isSuperset(of: [3, 4, 5, 6]))
        await polling.stop()
    }

    @Test("an exception reply is an error naming the device, the output and the exception code")
    func exception() async throws {
        let line = try IOLine(every: .milliseconds(500))
        let polling = line.startPolling()
        do {
            try await polling.outputs.set(device: "IO-01", output: .coil(20), on: true)
            Issue.record("a write past the module's coils was accepted")
        } catch {
            #expect(error.reason == .exception(.illegalDataAddress))
            #expect(error.exceptionCode == 2)
            #expect(error.description == "IO-01 coil 20 on: exception 2 (illegal data address)")
        }
        await #expect(throws: RelayWriteError(device: "IO-09", output: .register(1), on: false, reason: .unknownDevice)) {
            try await polling.outputs.set(device: "IO-09", output: .register(1), on: false)
        }
        await polling.stop()
    }

    @Test("writes never make a poll late: the polls' lateness with writes back to back stays within 5 ms of the same bus without them")
    func pollsStayOnTime() async throws {
        let line = try IOLine(every: .milliseconds(200), incubators: 4)
        // Seconds.
        var without: [Double] = []
        var with: [Double] = []
        var writes = 0
        // Alternating rounds, so that a busy moment of the machine does not fall on one side only.
        for round in 0..<4 {
            let polling = line.startPolling()
            let writing = round % 2 == 1
            let deadline = ContinuousClock.now + .seconds(2)
            if writing {
                var on = true
                while ContinuousClock.now < deadline {
                    try await polling.outputs.set(device: "IO-01", output: .coil(0), on: on)
                    on.toggle()
                    writes += 1
                }
            } else {
                try await Task.sleep(until: deadline)
            }
            await polling.stop()
            let p99 = try #require(polling.counters.scheduleSummary.lateness?.p99)
            if writing { with.append(p99) } else { without.append(p99) }
        }
        #expect(writes >= 20, "writes found gaps between the polls")
        let worstWith = with.max()!
        let worstWithout = without.max()!
        #expect(worstWith <= worstWithout + 0.005, "lateness p99 with writes \(with) s, without \(without) s")
    }

    @Test("the fail-safe heartbeat holds the coil on while labgate is healthy; once it is not, the module's watchdog drops it")
    func failSafe() async throws {
        let port = freePort()
        let config = TestConfig.ioModule(port: port, every: .milliseconds(500))
        let scenario = Scenario(watchdogs: ["IO-01": .seconds(1)])
        let simulator = Simulator(config: config, scenario: scenario, speed: 1, seed: 1, announce: { _ in })
        try simulator.start()
        defer { simulator.stop() }
        let polling = RunningPolling(config: config)
        let healthy = Atomic(true)
        let heartbeat = FailSafeService(
            outputs: polling.outputs, device: "IO-01", coil: 1, every: .milliseconds(300),
            healthy: { healthy.load(ordering: .relaxed) && polling.heartbeat.isHealthy() }, logger: Logger(label: "test"))
        let task = Task { await heartbeat.run() }
        try await eventually("the fail-safe coil on", timeout: .seconds(10)) { simulator.coils(device: "IO-01")?[1] == true }
        // Held on for twice the watchdog time.
        let held = ContinuousClock.now
        while held.duration(to: .now) < .seconds(2) {
            #expect(simulator.coils(device: "IO-01")?[1] == true)
            try await Task.sleep(for: .milliseconds(100))
        }
        healthy.store(false, ordering: .relaxed)
        let stopped = ContinuousClock.now
        try await eventually("the fail-safe coil dropped", timeout: .seconds(5)) { simulator.coils(device: "IO-01")?[1] == false }
        #expect(stopped.duration(to: .now) < .seconds(2), "dropped within the watchdog time (1 s) and a write period")
        task.cancel()
        await task.value
        await polling.stop()
    }
}

/// A serial line on a pty: IO-01 (unit 1) and incubators (units 2, 3, ...), all polled every `every`.
final class IOLine: @unchecked Sendable {
    private let temporary: TemporaryFolder
    let config: Config
    let simulator: Simulator

    init(every: Duration, incubators: Int = 2) throws {
        temporary = try TemporaryFolder("labgate-relay")
        let settings = RTUSettings(port: temporary.file("dev/ttyRS485"), baud: 19200, parity: .even)
        config = Config(
            file: "test.yaml", site: "test-site", store: "test.sqlite", alerts: "alerts",
            buses: [Bus(id: "line", transport: .rtu(settings))],
            devices: [Device(id: "IO-01", kind: .ioModule, bus: "line", unit: 1, profile: TestConfig.ioModule.name, every: every)]
                + (2...(incubators + 1)).map {
                    Device(id: "INC-0\($0)", kind: .incubator, bus: "line", unit: $0, profile: "sim-incubator", every: every)
                },
            profiles: [TestConfig.incubator.name: TestConfig.incubator, TestConfig.ioModule.name: TestConfig.ioModule], specs: [:])
        simulator = Simulator(config: config, speed: 1, seed: 1, announce: { _ in })
        try simulator.start()
    }

    deinit {
        simulator.stop()
    }

    func startPolling() -> RunningPolling {
        RunningPolling(config: config)
    }
}

/// A `PollingService` running in a task of its own, its polls counted and dropped.
final class RunningPolling: Sendable {
    let counters = PollCounters()
    let heartbeat = SchedulerHeartbeat()
    let outputs: RelayOutputs
    private let task: Task<Void, Never>

    init(config: Config) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let heartbeat = heartbeat
        let service = PollingService(
            config: config, deliver: { _ in }, end: {}, counters: counters, heartbeat: heartbeat, logger: logger,
            started: { heartbeat.markStarted() })
        outputs = service.outputs
        task = Task { await service.run() }
    }

    /// Returns once every bus owner has closed its port.
    func stop() async {
        task.cancel()
        await task.value
    }
}
