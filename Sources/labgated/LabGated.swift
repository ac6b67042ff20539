import CMalloc
import Foundation
import Glibc
import LabGate
import LabGateDaemon
import Logging

/// The daemon: what systemd runs. Everything an operator types is `labgate`.
@main
struct LabGated {
    static func main() async {
        // glibc gives a thread that finds the heap locked an arena of its own, up to 8 per core,
        // each holding its freed memory: with a thread per bus owner (35 threads at 25 gateways)
        // that was ~4 MB more resident at 250 devices. The threads allocate little and rarely at
        // once: one arena, whose freed memory any thread reuses (a second one held another
        // 0.7-0.9 MB at 250 devices, with the same CPU and jitter; BENCHMARKS.md, scale).
        _ = labgate_limit_malloc_arenas(1)
        let options: DaemonOptions
        do {
            options = try DaemonOptions(parsing: Array(CommandLine.arguments.dropFirst()))
        } catch {
            switch error {
            case .help:
                print(DaemonOptions.help, terminator: "")
                exit(0)
            case .usage(let message):
                FileHandle.standardError.write(Data(message.utf8))
                exit(64)
            }
        }
        exit(await run(options))
    }

    /// The config file: `--config`, else `LABGATE_CONFIG` (for launchers that cannot pass
    /// arguments: under libfaketime's LD_PRELOAD a Swift binary starts with an empty argv),
    /// else the installed one.
    static func configPath(_ options: DaemonOptions) -> String {
        options.config ?? ProcessInfo.processInfo.environment["LABGATE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/etc/labgate/labgate.yaml"
    }

    /// The exit status.
    static func run(_ options: DaemonOptions) async -> Int32 {
        guard let level = Logger.Level(rawValue: options.logLevel) else {
            FileHandle.standardError.write(Data(DaemonOptions.usageMessage("unknown log level '\(options.logLevel)'").utf8))
            return 64
        }
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0, level: level) }
        let logger = Logger(label: "labgate")
        // A peer that closes its socket must give an error on send, not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        let loaded: Config
        do {
            loaded = try ConfigLoader.load(path: configPath(options))
        } catch {
            // Every error as FILE:LINE:COL: message, as `labgate check-config` prints them.
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return 1
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(config: loaded, options: .init(printReadings: options.printReadings), logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        do {
            try await daemon.run()
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            return 1
        }
        return 0
    }
}
