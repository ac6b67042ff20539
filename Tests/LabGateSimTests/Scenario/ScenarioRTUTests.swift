import Foundation
import LabGate
import LabGateSim
import Modbus
import Testing

/// Fault events of serial lines in scenario files.
@Suite("Scenario files: serial-line faults")
struct ScenarioRTUTests {
    /// The test config's tcp bus `lan` plus an rtu bus `line` with INC-09 on unit 1.
    let config = TestConfig.make(
        extraBuses: [Bus(id: "line", transport: .rtu(RTUSettings(port: "/tmp/labgate-test/ttyA", baud: 19200)))],
        extraDevices: [Device(id: "INC-09", kind: .incubator, bus: "line", unit: 1, profile: "sim-incubator", every: .seconds(10))])

    func error(_ yaml: String) -> String {
        do {
            _ = try Scenario.parse(yaml: yaml, file: "scenario.yaml", config: config)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("every fault event parses, with its parameters")
    func faults() throws {
        let yaml = """
            events:
              - { at: 1s, device: INC-09, event: slow, by: 300ms, for: 10s }
              - { at: 2s, device: INC-09, event: crc_error, for: 5s }
              - { at: 3s, device: INC-09, event: truncated }
              - { at: 4s, device: INC-09, event: wrong_unit, for: 1s }
              - { at: 5s, device: INC-09, event: port_vanish, for: 30s }
              - { at: 6s, device: INC-09, event: exception, code: 6 }
              - { at: 7s, device: INC-01, event: slow, by: 1s }
            """
        let scenario = try Scenario.parse(yaml: yaml, file: "scenario.yaml", config: config)
        #expect(scenario.events.map(\.kind) == [
            .slow(by: .milliseconds(300)), .crcError, .truncated, .wrongUnit, .portVanish, .exception(code: 6), .slow(by: .seconds(1)),
        ])
        #expect(scenario.events.map(\.summary) == [
            "slow by 300ms for 10s", "crc_error for 5s", "truncated", "wrong_unit for 1s", "port_vanish for 30s", "exception 6", "slow by 1s",
        ])
    }

    @Test("mistakes name file, line and column", arguments: [
        ("events:\n  - { at: 1s, device: INC-01, event: crc_error }", "2:38",
         "event 'crc_error' needs a serial line, but INC-01 is on tcp bus lan (only rtu buses)"),
        ("events:\n  - { at: 1s, device: INC-01, event: port_vanish, for: 5s }", "2:38",
         "event 'port_vanish' needs a serial line, but INC-01 is on tcp bus lan (only rtu buses)"),
        ("events:\n  - { at: 1s, device: INC-09, event: slow }", "2:5",
         "missing key 'by' (slow needs how much later the device answers, e.g. by: 300ms)"),
        ("events:\n  - { at: 1s, device: INC-09, event: slow, by: 0s }", "2:48", "'by' must be longer than zero"),
        ("events:\n  - { at: 1s, device: INC-09, event: slow, by: later }", "2:48", "bad duration 'later' for 'by'"),
        ("events:\n  - { at: 1s, device: INC-09, event: truncated, by: 1s }", "2:49", "key 'by' applies only to event slow"),
    ])
    func mistakes(yaml: String, position: String, message: String) {
        let got = error(yaml)
        #expect(got.hasPrefix("scenario.yaml:\(position): \(message)"), "got \(got)")
    }
}
