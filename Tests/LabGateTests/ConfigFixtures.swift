import Foundation
import LabGate
import Testing

/// Config texts shared by the config tests. Line numbers matter: error tests point at them.
enum ConfigFixtures {
    /// Uses every key the loader knows.
    static let full = """
        site: cell-therapy-unit-1
        store: .labgate/labgate.sqlite
        alerts: .labgate
        buses:
          - id: sim
            tcp: { host: 127.0.0.1, port: 15020 }
          - id: lan
            tcp: { host: 192.0.2.10, port: 502 }
        devices:
          - id: INC-01
            kind: incubator
            bus: sim
            unit: 1
            profile: sim-incubator
            every: 2s
            spec: msc-culture
            limits:
              temperature: { low: 35, high: 39, delay: 1m, critical_low: 30, critical_high: 40 }
            timeout: 500ms
            retries: 2
            unreachable_after: 5
          - { id: FRZ-01, kind: freezer, bus: lan, unit: 3, profile: sim-ult-freezer, every: 10s }
          - { id: LN2-01, kind: ln2_tank, bus: sim, unit: 255, profile: sim-ult-freezer, every: 1m, spec: ln2-storage }
        profiles:
          sim-incubator:
            temperature: { table: input, address: 0, type: float32, order: CDAB, unit: "°C" }
            co2: { table: input, address: 2, type: int16, scale: 0.01, offset: 0, unit: "%", invalid: [-32768] }
            door: { table: holding, address: 0, type: uint16 }
          sim-ult-freezer:
            temperature: { table: input, address: 0x10, type: int16, scale: 0.1, offset: -0.5, unit: "°C" }
        specs:
          msc-culture:
            temperature: { low: 36.0, high: 38.0, delay: 10m, critical_high: 39.0 }
            co2: { low: 4.5, high: 5.5, delay: 15m }
          ln2-storage:
            temperature: { high: -150.0, delay: 5m }

        """

    /// A small valid config; error tests change one piece of it so that every other line stays
    /// where it is (the line numbers on the right are what the tests' locations refer to).
    static let base = """
        site: cell-therapy-unit-1
        store: lab.sqlite
        alerts: alerts
        buses:
          - id: sim
            tcp: { host: 127.0.0.1, port: 15020 }
        devices:
          - id: INC-01
            kind: incubator
            bus: sim
            unit: 1
            profile: incubator
            every: 2s
            spec: msc-culture
            limits:
              temperature: { low: 35, high: 39 }
          - id: FRZ-01
            kind: freezer
            bus: sim
            unit: 2
            profile: freezer
            every: 10s
        profiles:
          incubator:
            temperature: { table: input, address: 0, type: float32 }
            co2: { table: input, address: 2, type: int16, scale: 0.01, unit: "%" }
          freezer:
            temperature: { table: holding, address: 0, type: int16, scale: 0.1 }
        specs:
          msc-culture:
            temperature: { low: 36.0, high: 38.0, delay: 10m, critical_high: 39.0 }
            co2: { low: 4.5, high: 5.5, delay: 15m }

        """

    /// `base` with the first occurrence of `old` replaced by `new`.
    static func base(
        replacing old: String, with new: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> String {
        guard let range = base.range(of: old) else {
            Issue.record("'\(old)' is not in the base config", sourceLocation: sourceLocation)
            return base
        }
        return base.replacingCharacters(in: range, with: new)
    }

    /// The errors `yaml` is refused with (records an issue when it is accepted).
    static func errors(
        _ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> [ConfigError] {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
        } catch {
            return error.errors
        }
        Issue.record("the config was accepted", sourceLocation: sourceLocation)
        return []
    }

    /// The errors as `FILE:LINE:COL: message` lines.
    static func messages(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        errors(yaml, sourceLocation: sourceLocation).map(\.description)
    }
}
