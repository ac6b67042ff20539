import Foundation
import Glibc
import LabGate
import Testing

private let reloadConfig = """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    control: FOLDER/control.sock
    roles: { operators: [\(primaryGroup())], qa: [\(primaryGroup())] }
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: INC-01, kind: incubator, bus: lan, unit: 1, profile: inc, every: 200ms }
    profiles:
      inc:
        temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
        co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    """

@Suite("SIGHUP reloads the config", .serialized)
struct ReloadEndToEndTests {
    @Test("a broken config on SIGHUP is refused with FILE:LINE:COL in the journal and the alert log; polling goes on with the old one")
    func brokenConfigRefused() async throws {
        let harness = try Harness(config: reloadConfig)
        try await harness.startSim()
        try harness.startDaemon(extra: [])
        try await eventually("first readings", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-01"))?.count ?? 0) > 4 }
        let good = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        try good.replacingOccurrences(of: "every: 200ms", with: "every: soon")
            .write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.kill(SIGHUP)
        try await eventually("refusal", timeout: .seconds(10)) { harness.alertLines().contains { $0.contains("config_refused") } }
        let refusedAt = Date()
        try await Task.sleep(for: .seconds(1))
        #expect(harness.daemon?.isRunning == true)
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let stderr = harness.daemon!.stderr
        #expect(stderr.contains("config \(harness.configPath) refused, still running the previous one: 1 error(s)"))
        #expect(stderr.contains("\(harness.configPath):10:"), "the error names file, line and column")
        #expect(stderr.contains("bad duration 'soon'"))
        let line = try #require(harness.alertLines().first { $0.contains("config_refused") })
        #expect(line.contains("\(harness.configPath):10:"))
        #expect(try harness.readings(device: "INC-01").contains { $0.time > refusedAt && $0.quality == .good }, "still polling")
    }

    @Test("a valid config on SIGHUP is swapped in whole: a new device is polled, nothing is lost, the load is audited with its hash")
    func validConfigSwapped() async throws {
        let harness = try Harness(config: reloadConfig)
        try await harness.startSim()
        try harness.startDaemon()
        try await eventually("first readings", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-01"))?.count ?? 0) > 4 }
        let good = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        try good.replacingOccurrences(
            of: "profiles:",
            with: "  - { id: INC-02, kind: incubator, bus: lan, unit: 2, profile: inc, every: 200ms }\nprofiles:")
            .write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.kill(SIGHUP)
        try await eventually("the new device's readings", timeout: .seconds(20)) { ((try? harness.readings(device: "INC-02"))?.count ?? 0) > 4 }
        harness.daemon?.kill(SIGHUP)  // a second reload, of the same file, works as well
        try await Task.sleep(for: .seconds(1))
        let audit = try await harness.cli(["audit", "list", "--config", harness.configPath, "--object", "config \(harness.configPath)"])
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        #expect(harness.daemon!.stderr.contains("config \(harness.configPath) reloaded: 2 devices on 1 buses"))
        let loads = audit.out.split(separator: "\n").filter { $0.contains("config_loaded") }
        #expect(loads.count == 3, "\(audit.status) \(audit.out) \(audit.err)")
        // The trail records start, each load with the SHA-256 of the file as loaded, and stop.
        let actions = try shell("/usr/bin/sqlite3", [harness.storePath, "SELECT action || ' ' || coalesce(new, '') FROM audit ORDER BY seq"])
        let hash = try shell("/usr/bin/sha256sum", [harness.configPath]).prefix(64)
        let trail = actions.split(separator: "\n")
        #expect(trail.first?.hasPrefix("daemon_started") == true)
        #expect(trail.last?.hasPrefix("daemon_stopped") == true)
        #expect(trail.filter { $0.hasPrefix("config_loaded") }.last?.contains(String(hash)) == true, "\(trail)")
        // Every poll printed (accepted) by either generation is in the store.
        var stored: Set<String> = []
        for device in ["INC-01", "INC-02"] {
            for reading in try harness.readings(device: device) { stored.insert("\(UTCTime.format(reading.time)) \(device)") }
        }
        let printed = harness.daemon!.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(Set(printed).subtracting(stored).isEmpty)
    }
}

/// Runs a tool and returns its standard output.
private func shell(_ tool: String, _ arguments: [String]) throws -> String {
    try runCommand(tool, arguments).out
}
