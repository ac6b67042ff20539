import Foundation
import Testing
@testable import LabGate

/// The shipped device profiles, loaded as a config loads them.
enum ShippedProfiles {
    /// `config/profiles` of this repository.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/profiles").path

    static let names = ["vaisala-gmp251", "vaisala-hmp", "thermo-ult-freezer"]

    /// A config with one device per shipped profile (units 1, 2, 3 on bus `lan`).
    static func config(deviceKeys: String = "") throws -> Config {
        let files = names.map { "\(folder)/\($0).yaml" }
        let devices = names.enumerated().map { index, name in
            "  - { id: D\(index + 1), kind: other, bus: lan, unit: \(index + 1), profile: \(name), every: 1s\(deviceKeys) }"
        }
        let yaml = """
            site: test
            store: lab.sqlite
            alerts: alerts
            buses:
              - { id: lan, tcp: { host: 127.0.0.1, port: 1502 } }
            devices:
            \(devices.joined(separator: "\n"))
            profile_files: [\(files.joined(separator: ", "))]
            """
        return try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
    }

    static func profile(_ name: String) throws -> Profile {
        try #require(try config().profiles[name])
    }
}

@Suite("Request planning")
struct RequestPlanTests {
    func plan(_ profile: Profile, _ options: RequestPlanner.Options = .init()) -> [String] {
        RequestPlanner.plan(profile, options: options).map { request in
            "\(request) [\(request.fields.map(\.channel).joined(separator: " "))]"
        }
    }

    @Test("defaults: max_fill 8, at most 125 registers, one request per field off")
    func defaults() {
        let options = RequestPlanner.Options()
        #expect(options == RequestPlanner.Options(maxRegisters: 125, maxFill: 8, onePerField: false))
        let device = Device(id: "D", kind: .other, bus: "b", unit: 1, profile: "p", every: .seconds(1))
        #expect(device.planOptions == options)
    }

    @Test("Thermo ULT freezer profile: 3 requests by default, 10 with one request per field")
    func thermoFreezer() throws {
        let profile = try ShippedProfiles.profile("thermo-ult-freezer")
        #expect(plan(profile) == [
            "holding 1228+22 [tc2 tc3 tc4 tc5 tc6 tc7]",  // 0x04CC..0x04E1: holes of 2 between the floats
            "holding 1328+14 [cabinet_setpoint warm_alarm_setpoint cold_alarm_setpoint]",  // 0x0530..0x053D
            "holding 1649+1 [system_status]",  // 0x0671
        ])
        #expect(RequestPlanner.plan(profile, options: .init(onePerField: true)).count == 10)
        #expect(plan(profile, .init(onePerField: true)).allSatisfy { $0.contains("+2 [") || $0.contains("+1 [") })
        // Fill 2 bridges the TCs and the last two setpoints (hole 2), not the first (hole 6).
        #expect(plan(profile, .init(maxFill: 2)) == [
            "holding 1228+22 [tc2 tc3 tc4 tc5 tc6 tc7]",
            "holding 1328+2 [cabinet_setpoint]",
            "holding 1336+6 [warm_alarm_setpoint cold_alarm_setpoint]",
            "holding 1649+1 [system_status]",
        ])
        // Fill 0: only touching registers share a request, and none touch here.
        #expect(RequestPlanner.plan(profile, options: .init(maxFill: 0)).count == 10)
        // A device that serves at most 16 registers per request.
        #expect(plan(profile, .init(maxRegisters: 16)) == [
            "holding 1228+14 [tc2 tc3 tc4 tc5]",
            "holding 1244+6 [tc6 tc7]",
            "holding 1328+14 [cabinet_setpoint warm_alarm_setpoint cold_alarm_setpoint]",
            "holding 1649+1 [system_status]",
        ])
    }

    @Test("Vaisala GMP251 profile: 2 requests (the CO2 float, the two status registers)")
    func gmp251() throws {
        let profile = try ShippedProfiles.profile("vaisala-gmp251")
        #expect(plan(profile) == ["holding 0+2 [co2]", "holding 2048+2 [device_status co2_status]"])
        #expect(plan(profile, .init(onePerField: true)) == [
            "holding 0+2 [co2]", "holding 2048+1 [device_status]", "holding 2049+1 [co2_status]",
        ])
    }

    @Test("Vaisala HMP profile: 1 request, 2 with one request per field")
    func hmp() throws {
        let profile = try ShippedProfiles.profile("vaisala-hmp")
        #expect(plan(profile) == ["holding 0+4 [rh temperature]"])
        #expect(plan(profile, .init(onePerField: true)) == ["holding 0+2 [rh]", "holding 2+2 [temperature]"])
        #expect(plan(profile, .init(maxRegisters: 2)) == ["holding 0+2 [rh]", "holding 2+2 [temperature]"])
    }

    @Test("tables are planned apart, holding first; fields keep address order within a request")
    func tablesAndOrder() {
        let profile = Profile(name: "p", fields: [
            Field(channel: "rh", table: .input, address: 10, type: .uint16),
            Field(channel: "temperature", table: .input, address: 0, type: .float32),
            Field(channel: "setpoint", table: .holding, address: 0, type: .int16),
            Field(channel: "co2", table: .input, address: 2, type: .int16),
        ])
        #expect(plan(profile) == ["holding 0+1 [setpoint]", "input 0+11 [temperature co2 rh]"])
        #expect(plan(profile, .init(maxFill: 6)) == ["holding 0+1 [setpoint]", "input 0+3 [temperature co2]", "input 10+1 [rh]"])
        #expect(plan(profile, .init(maxFill: 7)) == ["holding 0+1 [setpoint]", "input 0+11 [temperature co2 rh]"])
    }

    @Test("125 registers at most per request, whatever max_registers says")
    func modbusLimit() {
        let fields = (0..<70).map { Field(channel: "c\($0)", table: .input, address: $0 * 2, type: .float32) }
        let requests = RequestPlanner.plan(fields, options: .init(maxRegisters: 500))
        #expect(requests.map(\.description) == ["input 0+124", "input 124+16"])
        #expect(requests.allSatisfy { $0.count <= 125 })
    }

    @Test("a refused request splits first into hole-free requests, then into one per field")
    func split() throws {
        let profile = try ShippedProfiles.profile("thermo-ult-freezer")
        let setpoints = try #require(RequestPlanner.plan(profile).first { $0.address == 0x0530 })
        let first = try #require(RequestPlanner.split(setpoints, options: .init()))
        #expect(first.map(\.description) == ["holding 1328+2", "holding 1336+2", "holding 1340+2"])
        let adjacent = PlannedRequest(
            table: .input, address: 0, count: 3,
            fields: [
                Field(channel: "a", table: .input, address: 0, type: .float32),
                Field(channel: "b", table: .input, address: 2, type: .int16),
            ])
        #expect(adjacent.holes == 0)
        #expect(RequestPlanner.split(adjacent, options: .init())?.map(\.description) == ["input 0+2", "input 2+1"])
        #expect(RequestPlanner.split(first[0], options: .init()) == nil, "a single field cannot be split")
    }
}
