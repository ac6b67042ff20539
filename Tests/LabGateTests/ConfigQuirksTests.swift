import Foundation
import Modbus
import Testing
@testable import LabGate
@testable import LabGateClient

/// Per-device quirks and profile files in the config.
@Suite("Config loader: device quirks and profile files")
struct ConfigQuirksTests {
    typealias F = ConfigFixtures

    /// `base` with extra lines after FRZ-01's `every: 10s` (line 22), so they start at line 23.
    func freezer(_ lines: String) -> String {
        F.base(replacing: "    every: 10s\n", with: "    every: 10s\n" + lines)
    }

    @Test("every quirk is read into the device and handed to the bus owner and the planner")
    func quirksParse() throws {
        let yaml = freezer("""
                busy_retries: 5
                busy_wait: 50ms
                pause_after_connect: 2s
                min_gap: 20ms
                max_registers: 16
                max_fill: 0
                one_request_per_field: true
                backoff: { initial: 30s, max: 10m }

            """)
        let config = try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
        let device = try #require(config.device("FRZ-01"))
        #expect(device.busyRetries == 5)
        #expect(device.busyWait == .milliseconds(50))
        #expect(device.transactionOptions == TransactionOptions(
            timeout: .seconds(1), minimumGap: .milliseconds(20), pauseAfterConnect: .seconds(2)))
        #expect(device.planOptions == RequestPlanner.Options(maxRegisters: 16, maxFill: 0, onePerField: true))
        #expect(device.backoff == BackoffPolicy(initial: .seconds(30), maximum: .seconds(600)))
        let summary = ConfigSummary.render(config)
        #expect(summary.contains(
            "reads: holding 0+1; busy_retries 5, busy_wait 50ms, pause_after_connect 2s, min_gap 20ms, max_registers 16, "
                + "max_fill 0, one_request_per_field, backoff 30s..10m"), "\(summary)")
    }

    @Test("defaults: 3 busy retries 200 ms apart, no pauses, 125 registers, fill 8, backoff from the period to 5 min")
    func quirkDefaults() throws {
        let device = try #require(try ConfigLoader.parse(yaml: F.base, file: "lab.yaml").device("FRZ-01"))
        #expect(device.busyRetries == 3 && device.busyWait == .milliseconds(200))
        #expect(device.pauseAfterConnect == .zero && device.minGap == .zero)
        #expect(device.maxRegisters == 125 && device.maxFill == 8 && !device.onePerField)
        #expect(device.backoff == BackoffPolicy(initial: .seconds(10), maximum: .seconds(300)))
        // Only one end of the backoff given: the other keeps its default.
        let onlyMax = try ConfigLoader.parse(yaml: freezer("    backoff: { max: 1h }\n"), file: "lab.yaml")
        #expect(onlyMax.device("FRZ-01")?.backoff == BackoffPolicy(initial: .seconds(10), maximum: .seconds(3600)))
        let onlyInitial = try ConfigLoader.parse(yaml: freezer("    backoff: { initial: 10m }\n"), file: "lab.yaml")
        #expect(onlyInitial.device("FRZ-01")?.backoff == BackoffPolicy(initial: .seconds(600), maximum: .seconds(600)))
    }

    @Test("quirk mistakes are reported at their line and column")
    func quirkErrors() {
        #expect(F.messages(freezer("    busy_retries: 21\n")) == [
            "lab.yaml:23:19: device FRZ-01: busy_retries 21 out of range 0..20"
        ])
        #expect(F.messages(freezer("    busy_wait: soon\n")) == [
            "lab.yaml:23:16: device FRZ-01: bad duration 'soon' (use e.g. 500ms, 10s, 2m, 1h)"
        ])
        #expect(F.messages(freezer("    min_gap: 20s\n")) == [
            "lab.yaml:23:14: device FRZ-01: min_gap 20s is above the maximum 10s"
        ])
        #expect(F.messages(freezer("    one_request_per_field: yes\n")) == [
            "lab.yaml:23:28: device FRZ-01: expected true or false for one_request_per_field, got 'yes'"
        ])
        #expect(F.messages(freezer("    max_registers: 126\n")) == [
            "lab.yaml:23:20: device FRZ-01: max_registers 126 out of range 1..125"
        ])
        #expect(F.messages(freezer("    max_fill: -1\n")) == [
            "lab.yaml:23:15: device FRZ-01: max_fill -1 out of range 0..123"
        ])
        // INC-01's profile has a float32 field: 2 registers.
        #expect(F.messages(F.base(replacing: "    every: 2s\n", with: "    every: 2s\n    max_registers: 1\n")) == [
            "lab.yaml:14:20: device INC-01: max_registers 1 is less than the 2 registers of temperature in profile incubator"
        ])
        #expect(F.messages(freezer("    backoff: { initial: 10m, max: 5m }\n")) == [
            "lab.yaml:23:35: device FRZ-01, backoff: max 5m is below initial 10m"
        ])
        #expect(F.messages(freezer("    backoff: { start: 1s }\n")) == [
            "lab.yaml:23:16: device FRZ-01, backoff: unknown key 'start' (expected one of: initial, max)"
        ])
        #expect(F.messages(freezer("    backoff: 5m\n")) == [
            "lab.yaml:23:14: device FRZ-01, backoff: expected a mapping for backoff, got '5m'"
        ])
    }

    // MARK: Profile files

    /// A folder with `lab.yaml` (the base config, its profiles moved out as told) and profile files.
    struct Site {
        let folder: TemporaryFolder
        var config: String { folder.path + "/lab.yaml" }

        init(config: String, files: [String: String]) throws {
            folder = try TemporaryFolder()
            try FileManager.default.createDirectory(atPath: folder.path + "/profiles", withIntermediateDirectories: true)
            try config.write(toFile: folder.path + "/lab.yaml", atomically: true, encoding: .utf8)
            for (name, text) in files {
                try text.write(toFile: folder.path + "/" + name, atomically: true, encoding: .utf8)
            }
        }

        func load() throws(ConfigErrors) -> Config { try ConfigLoader.load(path: config) }

        func messages() -> [String] {
            do {
                _ = try load()
                return ["accepted"]
            } catch {
                return error.errors.map(\.description)
            }
        }
    }

    /// The base config with its `freezer` profile in `profiles/freezer.yaml` instead.
    static let baseWithFreezerFile = F.base.replacingOccurrences(
        of: "  freezer:\n    temperature: { table: holding, address: 0, type: int16, scale: 0.1 }\n", with: "")
        .replacingOccurrences(of: "specs:\n", with: "profile_files: [profiles/freezer.yaml]\nspecs:\n")
    static let freezerFile = """
        # A freezer controller.
        freezer:
          temperature: { table: holding, address: 0, type: int16, scale: 0.1, unit: "°C" }

        """

    @Test("profile_files: relative to the config's folder, fields located in their own file")
    func profileFilesLoad() throws {
        let site = try Site(config: Self.baseWithFreezerFile, files: ["profiles/freezer.yaml": Self.freezerFile])
        let config = try site.load()
        let freezer = try #require(config.profiles["freezer"])
        #expect(freezer.fields.map(\.channel) == ["temperature"])
        #expect(freezer.fields[0].unit == "°C")
        #expect(freezer.fields[0].location == LabGate.SourceLocation(file: site.folder.path + "/profiles/freezer.yaml", line: 3, column: 3))
        #expect(config.profiles["incubator"] != nil, "inline profiles stay")
        #expect(config.device("FRZ-01")?.profile == "freezer")
    }

    @Test("with profile_files the profiles section may be left out")
    func onlyProfileFiles() throws {
        let noInline = F.base.replacingOccurrences(
            of: """
                profiles:
                  incubator:
                    temperature: { table: input, address: 0, type: float32 }
                    co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%" }
                  freezer:
                    temperature: { table: holding, address: 0, type: int16, scale: 0.1 }

                """,
            with: "profile_files: [profiles/incubator.yaml, profiles/freezer.yaml]\n")
        let incubator = """
            incubator:
              temperature: { table: input, address: 0, type: float32 }
              co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%" }
            """
        let site = try Site(config: noInline, files: ["profiles/incubator.yaml": incubator, "profiles/freezer.yaml": Self.freezerFile])
        #expect(try site.load().profiles.keys.sorted() == ["freezer", "incubator"])
        // Without either, profiles is missing.
        #expect(F.messages(noInline.replacingOccurrences(of: "profile_files: [profiles/incubator.yaml, profiles/freezer.yaml]\n", with: "")).first?
            .hasSuffix("missing key 'profiles'") == true)
    }

    @Test("mistakes in a profile file are reported at that file's line and column, after the config's")
    func profileFileErrors() throws {
        let badField = Self.freezerFile.replacingOccurrences(of: "type: int16", with: "type: int12")
        let site = try Site(config: Self.baseWithFreezerFile, files: ["profiles/freezer.yaml": badField])
        let file = site.folder.path + "/profiles/freezer.yaml"
        // FRZ-01 names the profile: it exists (with a bad field), so only the field is reported.
        #expect(site.messages() == [
            "\(file):3:52: profile freezer, temperature: unknown type 'int12' (expected one of: int16, uint16, int32, uint32, float32)"
        ])

        let syntax = try Site(config: Self.baseWithFreezerFile, files: ["profiles/freezer.yaml": "freezer:\n  temperature: { table: holding\n"])
        let syntaxMessages = syntax.messages()
        #expect(syntaxMessages.contains { $0.hasPrefix(syntax.folder.path + "/profiles/freezer.yaml:") && $0.contains("yaml syntax error") })

        let missing = try Site(config: Self.baseWithFreezerFile, files: [:])
        #expect(missing.messages() == [
            "\(missing.config):21:14: device FRZ-01: unknown profile 'freezer' (known profiles: incubator)",
            "\(missing.config):27:17: profile_files: cannot read profile file \(missing.folder.path)/profiles/freezer.yaml: "
                + "no such file or directory",
        ])

        // The same name inline and in a file.
        let twice = try Site(config: F.base.replacingOccurrences(of: "specs:\n", with: "profile_files: [profiles/freezer.yaml]\nspecs:\n"),
                             files: ["profiles/freezer.yaml": Self.freezerFile])
        #expect(twice.messages() == [
            "\(twice.folder.path)/profiles/freezer.yaml:2:1: profile freezer is already defined at \(twice.config):27:3"
        ])
    }
}
