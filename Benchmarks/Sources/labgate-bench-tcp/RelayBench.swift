import ArgumentParser
import BenchSupport
import Foundation
import LabGate
import LabGateSim
import Logging
import Modbus

// Relay writes on an RTU bus (BENCHMARKS.md): `scripts/bench relay`. The polling schedule's
// jitter (each poll's lateness against its slot, as labgated logs it at stop) on a simulated line
// at 19200 8E1, with and without a relay coil written between the polls, in alternating rounds.
// Not a test: it prints figures and asserts nothing.

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Polling jitter on an RTU bus with and without relay writes (scripts/bench relay).")
    @Option(help: "Seconds per round.") var seconds = Positive(30.0)
    @Option(help: "Pairs of rounds (without writes, then with them).") var rounds = Positive(3)
    @Option(help: "Incubators on the line besides the I/O module, each polled every --every-ms.") var devices = Positive(9)
    @Option(name: .customLong("every-ms"), help: "Poll period of every device, in milliseconds.") var everyMS = Positive(1000)
    @Option(name: .customLong("write-every-ms"), help: "A relay write asked for this often, in milliseconds (each waits for a gap).")
    var writeEveryMS = Positive(100)

    func run() async throws {
        print(machineSummary())
        let folder = NSTemporaryDirectory() + "labgate-bench-relay-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let every = Duration.milliseconds(everyMS.value)
        let config = relayConfig(port: folder + "/ttyRS485", devices: devices.value, every: every)
        let simulator = Simulator(config: config, speed: 1, seed: 1, announce: { _ in })
        try simulator.start()
        defer { simulator.stop() }
        print("rtu 19200 8E1, IO-01 and \(devices.value) incubators (4 registers each) every \(everyMS.value) ms;"
            + " with writes: coil 0 toggled every \(writeEveryMS.value) ms; \(rounds.value) × 2 rounds of \(fixed(seconds.value, 0)) s")
        print("round  writes  polls  lateness p50 ms  p99 ms  max ms  missed")
        var p99s: [Bool: [Double]] = [false: [], true: []]
        for round in 0..<(rounds.value * 2) {
            let writing = round % 2 == 1
            let (summary, writes) = await relayRound(
                config: config, seconds: seconds.value, writeEvery: writing ? .milliseconds(writeEveryMS.value) : nil)
            guard let lateness = summary.lateness else { fail("no polls in round \(round + 1)") }
            p99s[writing]!.append(lateness.p99)
            print("\(String(round + 1).leftPad(5))  \(String(writes).leftPad(6))  \(String(summary.polls).leftPad(5))  "
                + "\(fixed(lateness.p50 * 1000, 2).leftPad(15))  \(fixed(lateness.p99 * 1000, 2).leftPad(6))  "
                + "\(fixed(lateness.max * 1000, 2).leftPad(6))  \(String(summary.missedSlots).leftPad(6))")
        }
        let without = median(p99s[false]!)!
        let with = median(p99s[true]!)!
        print("median p99 lateness: without writes \(fixed(without * 1000, 2)) ms, with writes \(fixed(with * 1000, 2)) ms,"
            + " difference \(fixed((with - without) * 1000, 2)) ms (target: within 5 ms)")
    }
}

/// IO-01 (unit 1) and `devices` incubators (units 2...) on one simulated RTU line.
func relayConfig(port: String, devices: Int, every: Duration) -> Config {
    let incubator = Profile(name: "sim-incubator", fields: [
        Field(channel: "temperature", table: .input, address: 0, type: .float32, order: .abcd, unit: "°C"),
        Field(channel: "co2", table: .input, address: 2, type: .int16, scale: 0.01, unit: "%"),
        Field(channel: "rh", table: .input, address: 3, type: .uint16, scale: 0.1, unit: "%"),
    ])
    let module = Profile(name: "io-module", fields: [Field(channel: "output_0", table: .holding, address: 0, type: .uint16)])
    let settings = RTUSettings(port: port, baud: 19200, parity: .even)
    return Config(
        file: "bench.yaml", site: "bench", store: "bench.sqlite", alerts: "alerts",
        buses: [Bus(id: "line", transport: .rtu(settings))],
        devices: [Device(id: "IO-01", kind: .ioModule, bus: "line", unit: 1, profile: module.name, every: every)]
            + (0..<devices).map {
                Device(id: "INC-\($0 + 2)", kind: .incubator, bus: "line", unit: $0 + 2, profile: incubator.name, every: every)
            },
        profiles: [incubator.name: incubator, module.name: module], specs: [:])
}

/// Polls the line for `seconds` (fresh counters), with a relay write asked for every `writeEvery`
/// (each waits for its gap; the next is asked once it is done and its period has come).
func relayRound(config: Config, seconds: Double, writeEvery: Duration?) async -> (ScheduleSummary, Int) {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let counters = PollCounters()
    let polling = PollingService(
        config: config, deliver: { _ in }, end: {}, counters: counters, heartbeat: SchedulerHeartbeat(), logger: logger)
    let outputs = polling.outputs
    let pollingTask = Task { await polling.run() }
    let deadline = ContinuousClock.now + .seconds(seconds)
    var writes = 0
    if let writeEvery {
        var next = ContinuousClock.now
        var on = true
        while ContinuousClock.now < deadline {
            do {
                try await outputs.set(device: "IO-01", output: .coil(0), on: on)
                writes += 1
            } catch {
                print("write failed: \(error)")
            }
            on.toggle()
            next = max(next + writeEvery, ContinuousClock.now)
            try? await Task.sleep(until: next)
        }
    } else {
        try? await Task.sleep(until: deadline)
    }
    pollingTask.cancel()
    await pollingTask.value
    return (counters.scheduleSummary, writes)
}
