import ArgumentParser
import BenchSupport
import Foundation

// Modbus TCP polling (BENCHMARKS.md): `scripts/bench tcp`. Not a test: it prints figures and
// asserts nothing.

@main
struct LabGateBenchTCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench-tcp", abstract: "Modbus TCP polling: labgate vs direct libmodbus vs pymodbus; relay writes on an RTU bus.",
        subcommands: [TCP.self, ServeTCP.self, Relay.self], defaultSubcommand: TCP.self)
}

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

struct TCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Modbus TCP polling: labgate vs direct libmodbus vs pymodbus (scripts/bench tcp).")
    @Option(help: "Seconds per loop and round.") var seconds = Positive(10.0)
    @Option(help: "Rounds (medians and best rounds are printed).") var rounds = Positive(3)
    @Option(help: "Channels per read (2 registers each).") var channels = Positive(4)
    @Option(help: "One loop alone, for profiling: direct, labgate or pymodbus.") var only: String?
    @Option(help: "The Python with pymodbus (scripts/bench tcp makes a venv); without it, no pymodbus loop.") var python: String?
    @Option(help: "The pymodbus loop script.") var script = "Benchmarks/pymodbus_loop.py"
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

struct ServeTCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-tcp", abstract: "The simulator's Modbus TCP server alone (run by `tcp` as its own process).")
    @Option(help: "Port (0: any free one, printed).") var port = 0

    func run() { serveTCP(port: port) }
}
