import ArgumentParser
import Glibc
import LabGate
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the daemon in the foreground (systemd runs this).")

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print every poll to stdout as it is accepted.")
    var printReadings = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0, level: level) }
        let logger = Logger(label: "labgate")
        // A peer that closes its socket must give an error on send, not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        let config = try loadConfig(options.config)
        let daemon: Daemon
        do {
            daemon = try Daemon(config: config, options: .init(printReadings: printReadings), logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        try await daemon.run()
    }
}
