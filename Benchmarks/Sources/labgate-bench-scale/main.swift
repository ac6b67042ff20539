import ArgumentParser
import Foundation
import Glibc

// Scale, alert latency, startup and stop of the real daemon (`labgated`, the release binary
// $LABGATE names: scripts/bench builds it) against simulated devices served from this process: 25 Modbus TCP gateways ×
// 10 units = 250 incubators × 4 channels, every 1 s (issue #7, figures 3, 5 and 6).
//
//   scripts/bench scale   [--minutes 10 | --seconds N] [--warmup 5] [--keep]
//   scripts/bench alerts  [--switches 400] [--devices 10] [--keep]
//   scripts/bench startup [--repeats 10] [--run 3] [--keep]
//   scripts/bench notify  [--deviations 60] [--keep]   (issue #16: reading to email, webhook, relay)
//   scripts/bench forwardlag [--seconds 120] [--warmup 10] [--keep]   (issue #17: live forward lag, CPU with and without)

struct LabGateBenchScale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labgate-bench-scale", abstract: "The daemon at 250 devices, alert latency, startup and stop.",
        subcommands: [Scale.self, Alerts.self, Startup.self, Notify.self, ForwardLag.self])
}

/// Keeps the run's folder (config, store, daemon log) for a look afterwards.
struct Keep: ParsableArguments {
    @Flag(help: "Keep the folder (config, store, daemon log).") var keep = false
}

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "250 devices × 4 channels every 1 s: CPU, peak RSS, jitter, missed polls.")
    @Option(help: "Minutes to run.") var minutes = 10.0
    @Option(help: "Seconds to run (instead of --minutes).") var seconds: Double?
    @Option(help: "Seconds of warm-up not measured.") var warmup = 5.0
    @OptionGroup var keep: Keep

    func validate() throws {
        guard minutes > 0, (seconds ?? 1) > 0, warmup >= 0 else { throw ValidationError("durations: numbers above 0") }
    }

    func run() throws { try scaleBench(seconds: seconds ?? minutes * 60, warmup: warmup, keep: keep.keep) }
}

struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "From a value leaving its limits to the line in alerts.log.")
    @Option(help: "Switches out of limits and back.") var switches = 400
    @Option(help: "Devices switching independently.") var devices = 10
    @OptionGroup var keep: Keep

    func validate() throws {
        guard switches > 0, devices > 0 else { throw ValidationError("--switches, --devices: whole numbers above 0") }
    }

    func run() throws { try alertBench(switches: switches, devices: devices, keep: keep.keep) }
}

struct Startup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "exec to READY=1, and SIGTERM to exit with nothing lost.")
    @Option(help: "Starts and stops.") var repeats = 10
    @Option(name: .customLong("run"), help: "Seconds each run polls before SIGTERM.") var runSeconds = 3.0
    @OptionGroup var keep: Keep

    func validate() throws {
        guard repeats > 0, runSeconds > 0 else { throw ValidationError("--repeats, --run: numbers above 0") }
    }

    func run() throws { try startupBench(repeats: repeats, run: runSeconds, keep: keep.keep) }
}

struct Notify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "From the reading that opens a deviation to the email, the webhook request and the relay coil.")
    @Option(help: "Deviations, one after another.") var deviations = 60
    @OptionGroup var keep: Keep

    func validate() throws {
        guard deviations > 0 else { throw ValidationError("--deviations: a whole number above 0") }
    }

    func run() throws { try notifyBench(deviations: deviations, keep: keep.keep) }
}

struct ForwardLag: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forwardlag", abstract: "The live forward lag to a site store at 250 devices, and the daemon's CPU with and without forwarding.")
    @Option(help: "Seconds each run is measured.") var seconds = 120.0
    @Option(help: "Seconds of warm-up not measured.") var warmup = 10.0
    @OptionGroup var keep: Keep

    func validate() throws {
        guard seconds > 0, warmup >= 0 else { throw ValidationError("durations: numbers above 0") }
    }

    func run() throws { try forwardLagBench(seconds: seconds, warmup: warmup, keep: keep.keep) }
}

signal(SIGPIPE, SIG_IGN)
LabGateBenchScale.main()
