import ArgumentParser
import Foundation
import Modbus

// labgate's benchmarks (BENCHMARKS.md). Not tests: they print figures and assert nothing.

@main
struct LabGateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench", abstract: "labgate's benchmarks (BENCHMARKS.md); without a name, the RTU one.",
        subcommands: [RTU.self, TCP.self, Store.self, Overflow.self, ServeTCP.self], defaultSubcommand: RTU.self)
}

extension RTUSettings.Parity: ExpressibleByArgument {}

/// A number above 0 (durations, counts), with `_` allowed as in 1_000_000.
struct Positive<Value: LosslessStringConvertible & Comparable & Numeric & Sendable>: ExpressibleByArgument, Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
    init?(argument: String) {
        guard let value = Value(argument.replacingOccurrences(of: "_", with: "")), value > 0 else { return nil }
        self.value = value
    }
    var defaultValueDescription: String { "\(value)" }
}

struct RTU: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "RTU bus efficiency against the wire-time limit (scripts/bench-rtu).")
    @Option(help: "Seconds to poll.") var seconds = Positive(10.0)
    @Option(help: "Baud rate.") var baud = 19200
    @Option(help: "none, even or odd.") var parity = RTUSettings.Parity.even
    @Option(name: .customLong("stop-bits"), help: "1 or 2.") var stopBits = 1

    func validate() throws {
        guard RTUSettings.supportedBauds.contains(baud) else {
            throw ValidationError("--baud: one of \(RTUSettings.supportedBauds.map(String.init).joined(separator: ", "))")
        }
        guard [1, 2].contains(stopBits) else { throw ValidationError("--stop-bits: 1 or 2") }
    }

    func run() async { await runRTU(seconds: seconds.value, baud: baud, parity: parity, stopBits: stopBits) }
}

struct TCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Modbus TCP polling: labgate vs direct libmodbus vs pymodbus (scripts/bench-tcp).")
    @Option(help: "Seconds per loop and round.") var seconds = Positive(10.0)
    @Option(help: "Rounds (medians and best rounds are printed).") var rounds = Positive(3)
    @Option(help: "Channels per read (2 registers each).") var channels = Positive(4)
    @Option(help: "One loop alone, for profiling: direct, labgate or pymodbus.") var only: String?
    @Option(help: "The Python with pymodbus (scripts/bench-tcp makes a venv); without it, no pymodbus loop.") var python: String?
    @Option(help: "The pymodbus loop script.") var script = "bench/pymodbus_loop.py"
    @Option(help: "The CPU the simulator server is pinned to (default: the last one, when there are two or more; -1: not pinned).")
    var serverCPU: Int?
    @Flag(name: .customLong("busy-cpus"), help: "Keep every CPU busy with a lowest-priority spinner (nice 19) during the loops: a virtual machine's idle CPUs are slow to wake, which slows a ping-pong loop several-fold.")
    var busyCPUs = false

    func validate() throws {
        guard channels.value <= TCPBench.allChannels.count else {
            throw ValidationError("--channels: 1 to \(TCPBench.allChannels.count)")
        }
        if let only, !["direct", "labgate", "pymodbus"].contains(only) { throw ValidationError("--only: direct, labgate or pymodbus") }
        if let python, !FileManager.default.isExecutableFile(atPath: python) { throw ValidationError("--python: \(python) is not executable") }
        if python != nil, !FileManager.default.fileExists(atPath: script) { throw ValidationError("--script: \(script) not found") }
        if let serverCPU, serverCPU < -1 || serverCPU >= cpuCount() { throw ValidationError("--server-cpu: -1 to \(cpuCount() - 1)") }
    }

    func run() async {
        let cpus = cpuCount()
        let pinned = serverCPU ?? (cpus >= 2 ? cpus - 1 : -1)
        await runTCP(
            seconds: seconds.value, rounds: rounds.value, channels: channels.value, only: only, python: python, script: script,
            serverCPU: pinned >= 0 ? pinned : nil, busyCPUs: busyCPUs)
    }
}

struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store ingest through ReadingWriter vs bare GRDB inserts (scripts/bench-store).")
    @Option(help: "Readings per round.") var readings = Positive(1_000_000)
    @Option(help: "Devices (4 channels each).") var devices = Positive(20)
    @Option(help: "Rounds (medians are printed).") var rounds = Positive(3)
    @Option(help: "The writer's batch size (default: the daemon's).") var batch: Positive<Int>?
    @Option(help: "labgate alone, for profiling.") var only: String?

    func validate() throws {
        if let only, only != "labgate" { throw ValidationError("--only: labgate") }
    }

    func run() async {
        await runStore(total: readings.value, deviceCount: devices.value, rounds: rounds.value, only: only, batchSize: batch?.value ?? 0)
    }
}

struct Overflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The writer's full buffer while the store refuses writes: the cost of each poll's append.")
    @Option(help: "Polls (4 readings each) appended past the full buffer.") var polls = Positive(2000)
    @Option(help: "Readings the buffer holds (default: the daemon's store_buffer).") var capacity = Positive(defaultOverflowCapacity)

    func run() async { await runOverflow(polls: polls.value, capacity: capacity.value) }
}

struct ServeTCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-tcp", abstract: "The simulator's Modbus TCP server alone (run by `tcp` as its own process).")
    @Option(help: "Port (0: any free one, printed).") var port = 0

    func run() { serveTCP(port: port) }
}
