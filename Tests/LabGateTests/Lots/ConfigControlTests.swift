import Foundation
import Testing
@testable import LabGate

private typealias F = ConfigFixtures

@Suite("config: control socket, roles, deviation settings")
struct ConfigControlTests {
    @Test("control, roles and per-channel deadband, hold and max_gap are read")
    func reads() throws {
        let yaml = F.base(
            replacing: "co2: { low: 4.5, high: 5.5, delay: 15m }",
            with: "co2: { low: 4.5, high: 5.5, delay: 15m, deadband: 0.2, hold: 2m, max_gap: 5m }")
            + "control: /run/labgate/control.sock\nroles: { operators: [lab-ops, shift], qa: qa-release }\n"
        let config = try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
        #expect(config.control == "/run/labgate/control.sock")
        #expect(config.roles == Roles(operators: ["lab-ops", "shift"], qa: ["qa-release"]))
        let co2 = try #require(config.specs["msc-culture"]?.limits["co2"])
        #expect(co2.low?.deadband == 0.2)
        #expect(co2.high?.hold == .seconds(120))
        #expect(co2.maxGap == .seconds(300))
    }

    @Test("defaults: the default socket, groups labgate-operators and labgate-qa, no deadband, hold or gap limit")
    func defaults() throws {
        let config = try ConfigLoader.parse(yaml: F.base, file: "lab.yaml")
        #expect(config.control == nil)
        #expect(config.controlPath == "/run/labgate/control.sock")
        #expect(config.roles == Roles(operators: ["labgate-operators"], qa: ["labgate-qa"]))
        #expect(config.specs["msc-culture"]?.limits["co2"]?.maxGap == nil)
    }

    @Test("bad values are reported at their place")
    func errors() {
        #expect(F.messages(F.base + "roles: { operators: [lab ops], admins: [root] }\n") == [
            "lab.yaml:33:22: roles, operators: 'lab ops' is not a group name",
            "lab.yaml:33:32: roles: unknown key 'admins' (expected one of: operators, qa, separate_duties)",
        ])
        #expect(F.messages(F.base + "control: /\(String(repeating: "x", count: 120))\n") == [
            "lab.yaml:33:10: control socket path is 121 bytes long (at most 107)"
        ])
        #expect(F.messages(F.base(replacing: "delay: 15m }", with: "delay: 15m, deadband: -1, max_gap: 0s }")) == [
            "lab.yaml:32:55: spec msc-culture, co2: deadband -1 must not be negative",
            "lab.yaml:32:68: spec msc-culture, co2: max_gap 0s is below the minimum 1s",
        ])
        #expect(F.messages(F.base(replacing: "delay: 15m }", with: "delay: 15m, deadband: 0.5 }")) == [
            "lab.yaml:32:55: spec msc-culture, co2: deadband 0.5 leaves no room between low and high"
        ])
    }
}
