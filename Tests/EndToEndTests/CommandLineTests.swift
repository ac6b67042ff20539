import Foundation
import Glibc
import LabGate
import Testing

private let valid = """
    site: e2e
    store: FOLDER/labgate.sqlite
    alerts: FOLDER
    buses:
      - id: lan
        tcp: { host: 127.0.0.1, port: PORT }
    devices:
      - { id: FRZ-01, kind: freezer, bus: lan, unit: 3, profile: frz, every: 200ms, limits: { temperature: { high: -70, delay: 0s } } }
    profiles:
      frz:
        temperature: { table: input, address: 0, type: int16, scale: 0.1, unit: "°C", invalid: [-32768] }
    """

@Suite("the labgate command line", .serialized)
struct CommandLineTests {
    @Test("labgate alerts --follow shows each event as it is written, and follows a rotated log")
    func alertsFollow() async throws {
        let harness = try Harness(config: valid)
        let log = try AlertLog(folder: harness.folder)
        func event(_ device: String) -> AlertEvent {
            AlertEvent(time: Date(), severity: .critical, event: .deviceUnreachable, device: device, detail: "test")
        }
        try log.write(event("OLD-1"))
        let follower = try harness.labgate(["alerts", "--config", harness.configPath, "--follow"], name: "follow")
        defer { follower.kill(SIGTERM) }
        try await eventually("the existing event", timeout: .seconds(10)) { follower.stdout.contains("OLD-1") }
        try log.write(event("NEW-2"))
        try await eventually("a new event", timeout: .seconds(10)) { follower.stdout.contains("NEW-2") }
        try FileManager.default.moveItem(atPath: log.jsonPath, toPath: log.jsonPath + ".1")
        try log.write(event("ROTATED-3"))
        try await eventually("an event in the new file", timeout: .seconds(10)) { follower.stdout.contains("ROTATED-3") }
        let lines = follower.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.contains("CRITICAL device_unreachable") })
    }

    @Test("check-config: every error as FILE:LINE:COL, exit 1; a valid file gets a summary and exit 0")
    func checkConfig() async throws {
        let harness = try Harness(config: valid)
        let good = try await harness.cli(["check-config", harness.configPath])
        #expect(good.status == 0)
        #expect(good.out.contains("FRZ-01"))
        #expect(good.out.contains("lan"))

        let broken = harness.folder + "/broken.yaml"
        try valid.replacingOccurrences(of: "PORT", with: "1502").replacingOccurrences(of: "profile: frz", with: "profile: nope")
            .replacingOccurrences(of: "every: 200ms", with: "every: soon")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try await harness.cli(["check-config", broken])
        #expect(bad.status == 1)
        let errors = bad.err.split(separator: "\n")
        #expect(errors.count == 2, "both errors reported: \(bad.err)")
        #expect(errors.allSatisfy { $0.hasPrefix("\(broken):8:") })
        #expect(bad.err.contains("nope"))
        #expect(bad.err.contains("soon"))
    }

    @Test("a config that fails validation never starts polling")
    func badConfigNeverPolls() async throws {
        let harness = try Harness(config: valid.replacingOccurrences(of: "unit: 3", with: "unit: 3, colour: blue"))
        let run = try await harness.cli(["--config", harness.configPath], program: Harness.daemonBinary)
        #expect(run.status == 1)
        #expect(run.err.contains("\(harness.configPath):8:"))
        #expect(run.err.contains("colour"))
        #expect(!FileManager.default.fileExists(atPath: harness.storePath), "nothing was opened or polled")
    }

    @Test("labgate run hands its options to labgated: the same errors and exit status as labgated's own")
    func runExecsTheDaemon() async throws {
        let harness = try Harness(config: valid.replacingOccurrences(of: "unit: 3", with: "unit: 3, colour: blue"))
        let run = try await harness.cli(["run", "--config", harness.configPath, "--log-level", "debug"])
        let daemon = try await harness.cli(["--config", harness.configPath, "--log-level", "debug"], program: Harness.daemonBinary)
        #expect(run.status == 1 && daemon.status == 1)
        #expect(run.err == daemon.err && run.err.contains("colour"), "\(run.err)")
        let help = try await harness.cli(["run", "--help"])
        #expect(help.status == 0)
        #expect(help.out.contains("USAGE: labgated"), "\(help.out)")
    }

    @Test("labgate run without labgated beside it or on PATH says where it looked, exit 1")
    func runWithoutTheDaemon() async throws {
        let harness = try Harness(config: valid)
        // A hard link, as a copy would be slow: beside it there is no labgated. (Next to the build,
        // so that it is on the same file system.)
        let folder = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().deletingLastPathComponent().path
            + "/labgate-run-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(link(Harness.binary, folder + "/labgate") == 0)
        let run = try harness.process(
            folder + "/labgate", ["run", "--config", harness.configPath], name: "lonely", environment: ["PATH": "/nonexistent"])
        #expect(try await run.wait(timeout: .seconds(30)) == 1)
        #expect(run.stderr.contains("labgated"), "\(run.stderr)")
        #expect(run.stderr.contains(folder), "\(run.stderr)")
    }

    @Test("a missing store folder is a clear startup error naming the path")
    func missingStoreFolder() async throws {
        let harness = try Harness(config: valid.replacingOccurrences(of: "FOLDER/labgate.sqlite", with: "FOLDER/missing/labgate.sqlite"))
        let run = try await harness.cli(["--config", harness.configPath], program: Harness.daemonBinary)
        #expect(run.status == 1)
        #expect(run.err.contains("store folder \(harness.folder)/missing"))
        #expect(run.err.contains("does not exist"))
    }

    @Test("readings and alerts read back what the daemon wrote")
    func readingsAndAlerts() async throws {
        // The freezer's equipment limit is -70 °C: at -80 it is in spec, the compressor failure
        // scripted at once warms it past the limit within seconds at speed 600.
        let harness = try Harness(
            config: valid, scenario: "events:\n  - { at: 0s, device: FRZ-01, event: compressor_failure }\n")
        try await harness.startSim(speed: 600)
        try harness.startDaemon()
        try await eventually("freezer alert", timeout: .seconds(30)) {
            try harness.alertEvents().contains { $0.event == .excursionBegan }
        }
        harness.daemon?.kill(SIGTERM)
        #expect(try await harness.daemon?.wait(timeout: .seconds(10)) == 0)

        let csv = try await harness.cli(["readings", "--config", harness.configPath, "--device", "FRZ-01", "--format", "csv"])
        #expect(csv.status == 0)
        let rows = csv.out.split(separator: "\n")
        #expect(rows.first == "time,device,channel,value,unit,quality,detail,lots")
        let stored = try harness.readings(device: "FRZ-01")
        #expect(rows.count == stored.count + 1)
        #expect(rows.dropFirst().allSatisfy { $0.contains(",FRZ-01,temperature,") && $0.hasSuffix(",°C,good,,") })

        let json = try await harness.cli(["readings", "--config", harness.configPath, "--device", "FRZ-01", "--format", "json", "--since", "1h"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]]
        #expect(decoded?.count == stored.count)

        let unknown = try await harness.cli(["readings", "--config", harness.configPath, "--device", "FRZ-99"])
        #expect(unknown.status != 0)
        #expect(unknown.err.contains("FRZ-99"))

        let alerts = try await harness.cli(["alerts", "--config", harness.configPath])
        #expect(alerts.status == 0)
        #expect(alerts.out.contains("excursion_began     FRZ-01 temperature"))
        #expect(alerts.out.contains("above high -70.00 °C (equipment)"))
        #expect(!alerts.out.contains("\u{1B}["), "no colour codes when stdout is not a terminal")
    }
}

@Test("labgate ports lists adapters or says there are none, and says when udev is absent")
func portsCommand() async throws {
    let harness = try Harness(config: valid)
    let ports = try await harness.cli(["ports"])
    #expect(ports.status == 0)
    #expect(ports.out == "no serial adapters found\n" || ports.out.hasPrefix("/dev/"))
    if !FileManager.default.fileExists(atPath: "/run/udev/control") {
        #expect(ports.err.contains("udev is not running here"))
    }
    let json = try await harness.cli(["ports", "--json"])
    #expect(json.status == 0)
    #expect(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) is [Any])
}
