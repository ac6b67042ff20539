import Foundation
import Glibc
import LabGate
import LabGateClient
@_exported import TestSupport

/// Runs the real binaries — the simulator (`labgate sim`) and the daemon (`labgated`) as separate
/// processes talking Modbus TCP over loopback, or Modbus RTU over a pty the simulator creates at a path in the folder — in
/// a temporary folder with its own config, store and alert logs.
final class Harness: @unchecked Sendable {
    let folder: String
    let port: Int
    let configPath: String
    private(set) var sim: Child?
    private(set) var daemon: Child?

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
        folder = NSTemporaryDirectory() + "labgate-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
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
        try? FileManager.default.removeItem(atPath: folder)
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
        sim = try Child(arguments: arguments, folder: folder, name: "sim")
        if serial {
            try await waitFor("simulator's pty at \(serialPort)", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: self.serialPort)
            }
        } else {
            try await waitFor("simulator listening on \(port)", timeout: .seconds(20)) { canConnect(port: self.port) }
        }
    }

    func startDaemon(extra: [String] = ["--print-readings"], environment: [String: String] = [:]) throws {
        daemon = try Child(
            program: Self.daemonBinary, arguments: ["--config", configPath] + extra, folder: folder, name: "daemon",
            environment: environment)
    }

    /// Runs the CLI (or with `program`, another binary) to completion: (exit status, stdout, stderr).
    func cli(_ arguments: [String], program: String = Harness.binary) async throws -> (status: Int32, out: String, err: String) {
        let child = try Child(program: program, arguments: arguments, folder: folder, name: "cli-\(UUID().uuidString.prefix(8))")
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

/// A child process whose stdout and stderr go to files in the harness folder.
final class Child: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String

    init(
        program: String = Harness.binary, arguments: [String], folder: String, name: String, environment: [String: String] = [:]
    ) throws {
        outPath = folder + "/\(name).out"
        errPath = folder + "/\(name).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var inherited = ProcessInfo.processInfo.environment
        inherited["JOURNAL_STREAM"] = nil
        process.environment = inherited.merging(environment) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    func kill(_ signal: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit and returns its status (or throws after `timeout`).
    func wait(timeout: Duration) async throws -> Int32 {
        try await waitFor("process \(process.arguments?.first ?? "") to exit", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds; throws naming what was awaited when `timeout` passes.
func waitFor(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}
