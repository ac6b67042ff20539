import ArgumentParser
import Foundation
import Glibc
import LabGate
import LabGateDaemon
import Logging

/// The daemon: what systemd runs. Everything an operator types is `labgate`.
@main
struct LabGated: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgated",
        abstract: "The labgate daemon, in the foreground: polls the config's devices, stores, evaluates and alerts (systemd runs this).")

    @Option(name: .long, help: "Configuration file (default: $LABGATE_CONFIG, else /etc/labgate/labgate.yaml).")
    var config: String?

    /// The config file: `--config`, else `LABGATE_CONFIG` (for launchers that cannot pass
    /// arguments: under libfaketime's LD_PRELOAD a Swift binary starts with an empty argv),
    /// else the installed one.
    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["LABGATE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/etc/labgate/labgate.yaml"
    }

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
        let loaded: Config
        do {
            loaded = try ConfigLoader.load(path: configPath)
        } catch {
            // Every error as FILE:LINE:COL: message, as `labgate check-config` prints them.
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(config: loaded, options: .init(printReadings: printReadings), logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        try await daemon.run()
    }
}
