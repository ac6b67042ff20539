import ArgumentParser
import Glibc
import LabGate
import LabGateSim
import Logging
import ServiceLifecycle

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Serve the config's devices as simulated instruments: Modbus TCP on loopback, Modbus RTU on pseudo-terminals.")

    @OptionGroup var options: ConfigOption

    @Option(help: "Simulated seconds per real second.")
    var speed: Double = 1

    @Option(help: "Scenario file of timed events (door_open, silent, sensor_fault, crc_error, port_vanish, ...).")
    var scenario: String?

    @Option(help: "Seed for the sensor noise, to repeat a run exactly.")
    var seed: UInt64?

    func validate() throws {
        guard speed.isFinite, speed > 0 else { throw ValidationError("--speed must be a number above 0") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0) }
        signal(SIGPIPE, SIG_IGN)
        let config = try loadConfig(options.config)
        var events = Scenario()
        if let scenario {
            do {
                events = try Scenario.load(path: scenario, config: config)
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
        }
        let simulator = Simulator(config: config, scenario: events, speed: speed, seed: seed)
        if simulator.servedBuses.isEmpty {
            printError("\(config.file): no bus to simulate (a tcp bus on a loopback address, or an rtu bus whose port is outside /dev)")
            throw ExitCode(1)
        }
        do {
            try simulator.start()
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: simulator)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "labgate-sim")))
        try await group.run()
    }
}
