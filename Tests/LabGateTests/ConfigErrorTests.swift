import Foundation
import LabGate
import Testing

/// One test per kind of mistake; each changes one piece of `ConfigFixtures.base` and expects the
/// exact `file:line:col: message` an admin would see.
@Suite("Config loader: errors")
struct ConfigErrorTests {
    typealias F = ConfigFixtures

    @Test("A YAML syntax error points at its line and column") func yamlSyntaxErrorHasItsLine() throws {
        let errors = F.errors(F.base(replacing: "store: lab.sqlite\n", with: "store: lab.sqlite\n  bad: indent\n"))
        try #require(errors.count == 1)
        #expect(errors[0].location == LabGate.SourceLocation(file: "lab.yaml", line: 3, column: 6))
        #expect(errors[0].message.hasPrefix("yaml syntax error: mapping values are not allowed"))
    }

    @Test("An unclosed flow mapping is a syntax error") func unclosedFlowMappingIsASyntaxError() throws {
        let errors = F.errors(F.base(replacing: "port: 15020 }", with: "port: 15020"))
        try #require(errors.count == 1)
        #expect(errors[0].message.hasPrefix("yaml syntax error:"))
        #expect(errors[0].location.line >= 6)
    }

    @Test("A key written twice in one mapping is refused") func duplicateYamlKey() {
        #expect(F.messages(F.base(replacing: "    kind: freezer\n", with: "    kind: freezer\n    kind: fridge\n")) == [
            "lab.yaml:18:5: duplicate key 'kind' in one mapping"
        ])
    }

    @Test("An empty file says which keys are expected") func emptyFile() {
        let expected = "lab.yaml:1:1: the file is empty (expected keys: site, store, alerts, buses, devices, profiles)"
        #expect(F.messages("") == [expected])
        #expect(F.messages("# nothing yet\n") == [expected])
    }

    @Test("A value of the wrong type is refused with what was expected") func wrongNodeTypes() {
        #expect(F.messages(F.base(replacing: "port: 15020", with: "port: fast")) == [
            "lab.yaml:6:35: bus sim, tcp: expected a number for port, got 'fast'"
        ])
        #expect(F.messages(F.base(replacing: "unit: 2", with: "unit: 1.5")) == [
            "lab.yaml:20:11: device FRZ-01: expected a whole number for unit, got '1.5'"
        ])
        #expect(F.messages(F.base(replacing: "low: 35,", with: "low: \"35\",")) == [
            "lab.yaml:16:27: device INC-01, temperature: expected a number for low, got the quoted text \"35\""
        ])
        let freezerAsList = F.base(
            replacing: "  freezer:\n    temperature: { table: holding, address: 0, type: int16, scale: 0.1 }",
            with: "  freezer: [temperature]")
        #expect(F.messages(freezerAsList) == [
            "lab.yaml:27:12: profile freezer: expected a mapping for a profile (channel: field), got a list"
        ])
        #expect(F.messages("site: [a, b]\n" + F.base.split(separator: "\n").dropFirst().joined(separator: "\n")) == [
            "lab.yaml:1:7: expected a string for site, got a list"
        ])
        #expect(F.messages(F.base(replacing: "host: 127.0.0.1", with: "host: \"\"")) == [
            "lab.yaml:6:18: bus sim, tcp: host must not be empty"
        ])
    }

    @Test("Each missing required key is named") func missingRequiredKeys() {
        #expect(F.messages(F.base(replacing: "alerts: alerts\n", with: "")) == [
            "lab.yaml:1:1: missing key 'alerts'"
        ])
        #expect(F.messages(F.base(replacing: "    profile: freezer\n", with: "")) == [
            "lab.yaml:17:5: device FRZ-01: missing key 'profile'"
        ])
        #expect(F.messages(F.base(replacing: "    tcp: { host: 127.0.0.1, port: 15020 }", with: "    tcp: { host: 127.0.0.1 }")) == [
            "lab.yaml:6:10: bus sim, tcp: missing key 'port'"
        ])
        // A bus without transport, and a device with no id: named by position.
        let noTransport = F.base(replacing: "    tcp: { host: 127.0.0.1, port: 15020 }\n", with: "")
        #expect(F.messages(noTransport) == ["lab.yaml:5:5: bus sim: missing transport (expected one of: tcp, rtu)"])
        #expect(F.messages(F.base(replacing: "  - id: FRZ-01\n    kind", with: "  - kind")) == [
            "lab.yaml:17:5: device #2: missing key 'id'"
        ])
    }

    @Test("Unknown keys are refused with the keys expected there") func unknownKeys() {
        #expect(F.messages(F.base + "reports: /var/lib/labgate/reports\n") == [
            "lab.yaml:33:1: unknown key 'reports' (expected one of: site, store, alerts, buses, devices, profiles, profile_files, specs, control, roles, store_buffer, http, notify, anchors, anchor_interval, signatures, gateway, site_store, archive_after)"
        ])
        #expect(F.messages(F.base(replacing: "unit: \"%\"", with: "units: \"%\"")) == [
            "lab.yaml:26:64: profile incubator, co2: unknown key 'units' (expected one of: table, address, type, order, scale, offset, unit, invalid)"
        ])
        #expect(F.messages(F.base(replacing: "    every: 10s\n", with: "    every: 10s\n    poll: fast\n")) == [
            "lab.yaml:23:5: device FRZ-01: unknown key 'poll' (expected one of: id, kind, bus, unit, profile, every, spec, limits, timeout, retries, unreachable_after, "
                + "busy_retries, busy_wait, pause_after_connect, min_gap, max_registers, max_fill, one_request_per_field, "
                + "backoff)"
        ])
        #expect(F.messages(F.base(replacing: "    tcp: {", with: "    serial: {")) == [
            "lab.yaml:5:5: bus sim: missing transport (expected one of: tcp, rtu)",
            "lab.yaml:6:5: bus sim: unknown key 'serial' (expected one of: id, tcp, rtu)",
        ])
    }

    @Test("A device naming an unknown bus, profile or spec is refused with the known names") func unknownNamesADeviceRefersTo() {
        #expect(F.messages(F.base(replacing: "bus: sim", with: "bus: rs485")) == [
            "lab.yaml:10:10: device INC-01: unknown bus 'rs485' (known buses: sim)"
        ])
        #expect(F.messages(F.base(replacing: "profile: incubator", with: "profile: incubater")) == [
            "lab.yaml:12:14: device INC-01: unknown profile 'incubater' (known profiles: freezer, incubator)"
        ])
        #expect(F.messages(F.base(replacing: "spec: msc-culture", with: "spec: msc")) == [
            "lab.yaml:14:11: device INC-01: unknown spec 'msc' (known specs: msc-culture)"
        ])
        #expect(F.messages(F.base(replacing: "kind: freezer", with: "kind: ult")) == [
            "lab.yaml:18:11: device FRZ-01: unknown kind 'ult' (expected one of: incubator, freezer, ln2_tank, fridge, other, io_module)"
        ])
    }

    @Test("A duplicate id names where the first one is") func duplicateIdsNameTheFirst() {
        let secondBus = F.base(
            replacing: "devices:\n", with: "  - id: sim\n    tcp: { host: 127.0.0.2, port: 502 }\ndevices:\n")
        #expect(F.messages(secondBus) == ["lab.yaml:7:9: duplicate bus id 'sim' (first at line 5)"])
        #expect(F.messages(F.base(replacing: "id: FRZ-01", with: "id: INC-01")) == [
            "lab.yaml:17:9: duplicate device id 'INC-01' (first at line 8)"
        ])
    }

    @Test("Units on one bus are unique and within range") func unitsOnOneBus() {
        #expect(F.messages(F.base(replacing: "unit: 2", with: "unit: 1")) == [
            "lab.yaml:20:11: device FRZ-01: unit 1 on bus sim is already used by device INC-01 (line 11)"
        ])
        #expect(F.messages(F.base(replacing: "unit: 2", with: "unit: 248")) == [
            "lab.yaml:20:11: device FRZ-01: unit 248 out of range 0..247 (or 255 on tcp)"
        ])
        // 255 addresses a Modbus TCP gateway itself.
        let gateway = F.base(replacing: "unit: 2", with: "unit: 255")
        #expect(throws: Never.self) { try ConfigLoader.parse(yaml: gateway, file: "lab.yaml") }
    }

    @Test("Malformed durations are refused with examples of good ones") func durations() {
        #expect(F.messages(F.base(replacing: "every: 2s", with: "every: 2 seconds")) == [
            "lab.yaml:13:12: device INC-01: bad duration '2 seconds' (use e.g. 500ms, 10s, 2m, 1h)"
        ])
        #expect(F.messages(F.base(replacing: "delay: 10m", with: "delay: 10 minutes")) == [
            "lab.yaml:31:50: spec msc-culture, temperature: bad duration '10 minutes' (use e.g. 500ms, 10s, 2m, 1h)"
        ])
        #expect(F.messages(F.base(replacing: "every: 2s", with: "every: 50ms")) == [
            "lab.yaml:13:12: device INC-01: every 50ms is below the minimum 100ms"
        ])
        #expect(F.messages(F.base(replacing: "every: 10s\n", with: "every: 10s\n    timeout: 5ms\n")) == [
            "lab.yaml:23:14: device FRZ-01: timeout 5ms is below the minimum 10ms"
        ])
        #expect(F.messages(F.base(replacing: "every: 10s\n", with: "every: 10s\n    timeout: 2m\n")) == [
            "lab.yaml:23:14: device FRZ-01: timeout 2m is above the maximum 1m"
        ])
    }

    @Test("Numbers out of range are refused with the range") func outOfRangeNumbers() {
        #expect(F.messages(F.base(replacing: "port: 15020", with: "port: 70000")) == [
            "lab.yaml:6:35: bus sim, tcp: port 70000 out of range 1..65535"
        ])
        #expect(F.messages(F.base(replacing: "every: 10s\n", with: "every: 10s\n    retries: 11\n")) == [
            "lab.yaml:23:14: device FRZ-01: retries 11 out of range 0..10"
        ])
        #expect(F.messages(F.base(replacing: "every: 10s\n", with: "every: 10s\n    unreachable_after: 0\n")) == [
            "lab.yaml:23:24: device FRZ-01: unreachable_after 0 out of range 1..1000"
        ])
        #expect(F.messages(F.base(replacing: "address: 2,", with: "address: 70000,")) == [
            "lab.yaml:26:35: profile incubator, co2: address 70000 out of range 0..65535"
        ])
        #expect(F.messages(F.base(replacing: "address: 0, type: float32", with: "address: 65535, type: float32")) == [
            "lab.yaml:25:43: profile incubator, temperature: float32 at input 65535 needs registers up to 65536 (the last is 65535)"
        ])
        #expect(F.messages(F.base(replacing: "scale: 0.01", with: "scale: 0")) == [
            "lab.yaml:26:58: profile incubator, co2: scale must not be 0"
        ])
    }

    @Test("A field's type and word order must fit each other") func fieldTypeAndOrder() {
        #expect(F.messages(F.base(replacing: "type: float32 }", with: "type: float32, order: AB }")) == [
            "lab.yaml:25:68: profile incubator, temperature: order AB does not fit float32 (use ABCD, CDAB, BADC or DCBA)"
        ])
        #expect(F.messages(F.base(replacing: "type: float32 }", with: "type: float64 }")) == [
            "lab.yaml:25:52: profile incubator, temperature: unknown type 'float64' (expected one of: int16, uint16, int32, uint32, float32)"
        ])
    }

    @Test("Fields whose registers overlap in one table are refused") func overlappingRegistersWithinOneTable() {
        #expect(F.messages(F.base(replacing: "address: 2,", with: "address: 1,")) == [
            "lab.yaml:26:35: profile incubator: co2 (input 1..1) overlaps temperature (input 0..1)"
        ])
        // A field with another mistake still takes part in the overlap check.
        #expect(F.messages(F.base(replacing: "address: 2, type: int16, scale: 0.01", with: "address: 1, type: int16, scale: 0")) == [
            "lab.yaml:26:35: profile incubator: co2 (input 1..1) overlaps temperature (input 0..1)",
            "lab.yaml:26:58: profile incubator, co2: scale must not be 0",
        ])
        // The same address in another table is a different register.
        let otherTable = F.base(replacing: "co2: { table: input, address: 2,", with: "co2: { table: holding, address: 1,")
        #expect(throws: Never.self) { try ConfigLoader.parse(yaml: otherTable, file: "lab.yaml") }
    }

    @Test("Limits out of order are refused") func limitsOutOfOrder() {
        #expect(F.messages(F.base(replacing: "low: 36.0", with: "low: 38.5")) == [
            "lab.yaml:31:25: spec msc-culture, temperature: low 38.5 is above high 38.0"
        ])
        #expect(F.messages(F.base(replacing: "critical_high: 39.0", with: "critical_high: 37.5")) == [
            "lab.yaml:31:70: spec msc-culture, temperature: critical_high 37.5 is below high 38.0"
        ])
        #expect(F.messages(F.base(replacing: "low: 35,", with: "low: 35, critical_low: 36,")) == [
            "lab.yaml:16:45: device INC-01, temperature: critical_low 36 is above low 35"
        ])
        #expect(F.messages(F.base(replacing: "{ low: 35, high: 39 }", with: "{ delay: 5m }")) == [
            "lab.yaml:16:20: device INC-01, temperature: no limit set (use low, high, critical_low or critical_high)"
        ])
    }

    @Test("Limits for a channel the device's profile lacks are refused") func channelsTheProfileLacks() {
        #expect(F.messages(F.base(replacing: "    every: 10s\n", with: "    every: 10s\n    spec: msc-culture\n")) == [
            "lab.yaml:23:11: device FRZ-01: spec msc-culture sets limits for co2, but profile freezer has no channel co2"
        ])
        #expect(F.messages(F.base(replacing: "      temperature: { low: 35", with: "      humidity: { low: 35")) == [
            "lab.yaml:16:7: device INC-01: limits for humidity, but profile incubator has no channel humidity"
        ])
    }

    @Test("Every error in a file is reported in one pass, sorted by position") func everyErrorIsReportedInOnePassSortedByPosition() throws {
        var yaml = F.base + "reports: /var/lib/labgate/reports\n"  // line 33
        yaml = yaml.replacingFirst("address: 2,", with: "address: 1,")  // line 26
        yaml = yaml.replacingFirst("every: 2s", with: "every: often")  // line 13
        yaml = yaml.replacingFirst("port: 15020", with: "port: 0")  // line 6
        yaml = yaml.replacingFirst("unit: 1", with: "unit: -1")  // line 11
        let errors = F.errors(yaml)
        #expect(errors.map(\.location.line) == [6, 11, 13, 26, 33])
        #expect(errors.map(\.message) == [
            "bus sim, tcp: port 0 out of range 1..65535",
            "device INC-01: unit -1 out of range 0..247 (or 255 on tcp)",
            "device INC-01: bad duration 'often' (use e.g. 500ms, 10s, 2m, 1h)",
            "profile incubator: co2 (input 1..1) overlaps temperature (input 0..1)",
            "unknown key 'reports' (expected one of: site, store, alerts, buses, devices, profiles, profile_files, specs, control, roles, store_buffer, http, notify, anchors, anchor_interval, signatures, gateway, site_store, archive_after)",
        ])

        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "lab.yaml")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 5)
            #expect(lines.first == "lab.yaml:6:35: bus sim, tcp: port 0 out of range 1..65535")
        }
    }

    @Test("Errors sort by line, then column") func errorsAreSortedByLineThenColumn() {
        let at = { (line: Int, column: Int) in
            ConfigError(location: LabGate.SourceLocation(file: "f", line: line, column: column), message: "m\(line).\(column)")
        }
        let errors = ConfigErrors([at(3, 1), at(1, 9), at(1, 2), at(2, 5)])
        #expect(errors.errors.map(\.message) == ["m1.2", "m1.9", "m2.5", "m3.1"])
        #expect(errors.description == "f:1:2: m1.2\nf:1:9: m1.9\nf:2:5: m2.5\nf:3:1: m3.1")
    }
}

extension String {
    fileprivate func replacingFirst(_ old: String, with new: String) -> String {
        guard let range = range(of: old) else { return self }
        return replacingCharacters(in: range, with: new)
    }
}

@Test("store_buffer: the readings held in memory while the store cannot be written, within 10..50000000")
func storeBufferKey() throws {
    let text = ConfigFixtures.base + "store_buffer: 5000\n"
    #expect(try ConfigLoader.parse(yaml: text, file: "lab.yaml").storeBuffer == 5000)
    #expect(try ConfigLoader.parse(yaml: ConfigFixtures.base, file: "lab.yaml").storeBuffer == Config.defaultStoreBuffer)
    #expect(ConfigFixtures.messages(ConfigFixtures.base + "store_buffer: 3\n").contains { $0.hasPrefix("lab.yaml:33:") && $0.contains("store_buffer") })
}
