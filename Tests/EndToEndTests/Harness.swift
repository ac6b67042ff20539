import Foundation
import Glibc
import LabGate
import LabGateClient
@_exported import TestSupport

/// Runs the real binaries — the simulator (`labgate sim`) and the daemon (`labgated`) as separate
/// processes talking Modbus TCP over loopback, or Modbus RTU over a pty the simulator creates at a path in the folder — in
/// a temporary folder with its own config, store and alert logs.
final class Harness: @unchecked Sendable {
    private let temporary: TemporaryFolder
    var folder: String { temporary.path }
    let port: Int
    let configPath: String
    private(set) var sim: ChildProcess?
    private(set) var daemon: ChildProcess?

    /// The operator's tool, built next to the test bundle.
    static var binary: String { built("labgate") }

    /// The daemon, built next to the test bundle.
    static var daemonBinary: String { built("labgated") }

    static func built(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// `config` is YAML with `PORT` and `FOLDER` placeholders.
    init(config: String, scenario: String? = nil) throws {
        temporary = try TemporaryFolder("labgate-e2e")
        let folder = temporary.path
        port = freePort()
        configPath = folder + "/labgate.yaml"
        let text = config.replacingOccurrences(of: "PORT", with: String(port)).replacingOccurrences(of: "FOLDER", with: folder)
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        if let scenario {
            try scenario.write(toFile: folder + "/scenario.yaml", atomically: true, encoding: .utf8)
        }
    }

    deinit {
        sim?.kill(SIGKILL)
        daemon?.kill(SIGKILL)
    }

    /// Where the config puts the store (`FOLDER/labgate.sqlite` unless a test moves it).
    lazy var storePath: String = folder + "/labgate.sqlite"
    var alertsLog: String { folder + "/alerts.log" }
    var alertsJSON: String { folder + "/alerts.jsonl" }

    /// Where an rtu bus of a test config puts its port (`FOLDER/dev/ttyRS485` in the YAML).
    var serialPort: String { folder + "/dev/ttyRS485" }

    /// Starts the simulator and waits until its TCP port accepts connections, or with `serial`
    /// until its pty appears at `serialPort`.
    func startSim(speed: Double = 1, seed: Int = 1, serial: Bool = false) async throws {
        var arguments = ["sim", "--config", configPath, "--speed", String(speed), "--seed", String(seed)]
        if FileManager.default.fileExists(atPath: folder + "/scenario.yaml") {
            arguments += ["--scenario", folder + "/scenario.yaml"]
        }
        sim = try labgate(arguments, name: "sim")
        if serial {
            try await eventually("simulator's pty at \(serialPort)", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: self.serialPort)
            }
        } else {
            try await eventually("simulator listening on \(port)", timeout: .seconds(20)) { canConnect(port: self.port) }
        }
    }

    /// Added to the daemon's environment by every `startDaemon` (e.g. a preloaded fault shim).
    var daemonEnvironment: [String: String] = [:]

    /// Starts the daemon; with `wrapper` (e.g. strace and its options), run by it.
    func startDaemon(extra: [String] = ["--print-readings"], environment: [String: String] = [:], wrapper: [String] = []) throws {
        let command = wrapper + [Self.daemonBinary, "--config", configPath] + extra
        daemon = try process(
            command[0], Array(command.dropFirst()), name: "daemon",
            environment: daemonEnvironment.merging(environment) { _, given in given })
    }

    /// Starts the daemon with exactly `arguments` (none: it finds its config through
    /// `LABGATE_CONFIG`, as under libfaketime, which leaves a Swift program no argv).
    func startDaemon(arguments: [String], environment: [String: String]) throws {
        daemon = try process(Self.daemonBinary, arguments, name: "daemon", environment: environment)
    }

    /// A binary run in the folder, its output in NAME.out and NAME.err there. Without
    /// JOURNAL_STREAM, which a test run under systemd inherits: with it the daemon prefixes its
    /// log lines with journal priorities.
    func process(_ program: String, _ arguments: [String], name: String, environment: [String: String] = [:]) throws -> ChildProcess {
        var variables: [String: String?] = ["JOURNAL_STREAM": nil]
        for (key, value) in environment { variables[key] = value }
        return try ChildProcess(program, arguments, folder: folder, name: name, environment: variables, workingDirectory: folder)
    }

    /// The `labgate` tool run in the folder (see `process`).
    func labgate(_ arguments: [String], name: String, environment: [String: String] = [:]) throws -> ChildProcess {
        try process(Harness.binary, arguments, name: name, environment: environment)
    }

    /// Runs the CLI (or with `program`, another binary) to completion: (exit status, stdout, stderr).
    func cli(_ arguments: [String], program: String = Harness.binary) async throws -> (status: Int32, out: String, err: String) {
        let child = try process(program, arguments, name: "cli-\(UUID().uuidString.prefix(8))")
        let status = try await child.wait(timeout: .seconds(30))
        return (status, child.stdout, child.stderr)
    }

    func alertEvents() throws -> [AlertEvent] {
        try AlertLogReader(path: alertsJSON).readAll().map { entry in
            guard case let .event(event) = entry else { throw HarnessError("unreadable alert line: \(entry)") }
            return event
        }
    }

    func alertLines() -> [String] {
        ((try? String(contentsOfFile: alertsLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Polls of `device` in the store: one per distinct reading time, by quality of its readings.
    func polls(device: String) throws -> [(time: Date, qualities: Set<Quality>)] {
        let byTime = Dictionary(grouping: try readings(device: device), by: \.time)
        return byTime.keys.sorted().map { time in (time, Set(byTime[time]!.map(\.quality))) }
    }

    func readings(device: String, channel: String? = nil) throws -> [Reading] {
        try ReadingQuery(device: device, channel: channel).fetch(from: ReadingStore(readingExisting: storePath))
    }
}

/// The name of this process's primary group: the tests give it roles through the config, so the
/// real SO_PEERCRED path is exercised with whoever runs them.
func primaryGroup() -> String {
    guard let entry = getgrgid(getgid()), let name = entry.pointee.gr_name else { return "root" }
    return String(cString: name)
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
